"""``mmbench run CONFIG.yaml [--set key=value ...]``: one benchmark run, one leaderboard row."""
from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..files import paths
from ..run import config as config_mod
from ..run.callbacks import CallbackList, EventCallbacks, PluginHooks, RunCallbacks
from ..contract.components import RunContext
from ..output.console import make_console
from ..errors import MMBenchError
from ..leaderboard import pending, store
from ..leaderboard.render import render
from ..contract.registry import default_registry
from ..run.row import Row
from . import add_leaderboard_dir, add_rerun, add_set, events_of
from .plugins import warn_failures


def summary_table(row: Row, cache_hit: bool) -> Table:
    table = Table(title="mmbench run", show_header=False)
    for key in ("dataset", "encoder", "reducer", "model", "seed"):
        table.add_row(key, str(getattr(row, key)))
    table.add_row("valid AUC", f"{row.valid_auc:.4f}")
    if row.oracle_auc != "":
        lift = (row.valid_auc - 0.5) / (row.oracle_auc - 0.5)
        table.add_row("oracle AUC", f"{row.oracle_auc:.4f}  (run reaches {lift:.0%} of the oracle's lift over chance)")
    best = store.committed_best(row.dataset)
    if best is not None:  # a scale for a first run: the best of the repository's committed board
        path, b = best
        share = ""
        if row.oracle_auc != "":
            share = f", {(float(b['valid_auc']) - 0.5) / (row.oracle_auc - 0.5):.0%} of the oracle's lift"
        table.add_row("committed best", f"{float(b['valid_auc']):.4f}  ({b['encoder']} / {b['reducer']} / {b['model']}, "
                                        f"{b['epochs']} epochs{share}; {path.parent.name}/{path.name})")
    table.add_row("valid logloss", f"{row.valid_logloss:.4f}")
    table.add_row("valid gAUC", f"{row.valid_gauc:.4f}")
    table.add_row("epochs (best)", f"{row.epochs} ({row.best_epoch})")
    table.add_row("encode", f"{row.encode_seconds:.1f}s" + (" (cache hit)" if cache_hit else ""))
    missing = [f"{n} {what}" for n, what in ((row.missing_images, "images"), (row.missing_titles, "titles"))
               if n not in ("", 0)]
    if missing:
        table.add_row("missing content", ", ".join(missing) + " (encoded as the configured fallback)")
    table.add_row("train", f"{row.train_seconds:.1f}s, {row.samples_per_second:.0f} samples/s on {row.device}")
    table.add_row("parameters", f"{row.params:,}")
    table.add_row("config hash", row.config_hash)
    return table


class LeaderboardTargets(RunCallbacks):
    """Refuses a blocked leaderboard target as soon as the dataset is known, not after training."""

    def __init__(self, directory: Path):
        self.directory = directory

    def on_data_loaded(self, data) -> None:
        store.check_targets(self.directory, data.dataset_id)


def output_dir(given: str | None) -> Path:
    """The leaderboard folder (``--leaderboard-dir``, default ``$MMBENCH_HOME/leaderboards``) and
    ``$MMBENCH_HOME``, checked as writable before any work."""
    directory = paths.writable_dir(store.leaderboard_dir(given), "--leaderboard-dir")
    paths.home_dir()
    return directory


def recorded_already(resolved, leaderboard_dir: Path, events, rerun: bool) -> bool:
    """True (and one line saying so) when the board already holds an ok row of this config hash:
    an identical rerun would only add a second identical row after minutes of work."""
    if rerun:
        return False
    found = store.find_recorded(leaderboard_dir, resolved.config_hash())
    if found is None:
        return False
    path, row = found
    events.result(f"already recorded: config {resolved.config_hash()} has a row in {path} (valid AUC "
                  f"{float(row['valid_auc']):.4f}, {row.get('timestamp') or 'no date'}); skipped, nothing ran. "
                  f"--rerun runs it again and adds a second row", skipped=True, leaderboard=str(path),
                  config_hash=resolved.config_hash())
    return True


def execute(resolved, registry, leaderboard_dir: Path, events):
    """Run, save the checkpoint, record the row and render the board, each a stage on ``events``.
    Returns (the pipeline's RunResult, the run folder, the leaderboard CSV); the caller reports them."""
    from ..run import checkpoint, pipeline  # torch: imported by the commands that train, not by --help
    from ..run.trainer import resolve_device

    resolve_device(resolved.train.device)  # a missing GPU is said now, not after data and encoding
    ctx = RunContext(events=events)
    result = pipeline.run(resolved, ctx, CallbackList(LeaderboardTargets(leaderboard_dir), EventCallbacks(events),
                                                      PluginHooks(registry)))
    with events.stage("record"):
        # checkpoint first: a row always has its model on disk (a checkpoint without a row is harmless)
        run_dir = checkpoint.save_run(ctx.home, resolved, result.model, result.row)
        recorded = pending.record_or_keep(leaderboard_dir, result.row, result.valid)
        if not recorded.pending:
            render(leaderboard_dir, result.row.dataset)  # md + chart with CIs
    if recorded.pending:  # the finished row is kept, never dropped; the exit says it is not on the board
        report(events, result, [f"model saved to {run_dir}"], run_dir=str(run_dir), pending=str(recorded.pending))
        raise MMBenchError(recorded.message())
    return result, run_dir, recorded.path


def resolve_config(args, load, resolve):
    """The ``resolve`` stage of run and task1: the config read, the plugins found, the sections checked."""
    events = events_of(args)
    with events.stage("resolve", config=args.config):
        cfg = load(args.config, args.set)
        registry = default_registry()
        warn_failures(registry, make_console(stderr=True))
        resolved = resolve(cfg, registry)
    return resolved, registry


def report(events, result, lines: list[str], **data) -> None:
    """The run's summary table and its closing lines as the command's result (json: the row and ``data``)."""
    shown = Group(summary_table(result.row, result.encoding.cache_hit), *(Text(line) for line in lines))
    events.result(shown, row=result.row.as_dict(), cache_hit=result.encoding.cache_hit, **data)


def cmd_run(args) -> int:
    events = events_of(args)
    from ..run import pipeline

    directory = output_dir(args.leaderboard_dir)
    resolved, registry = resolve_config(args, config_mod.load, pipeline.resolve)
    if recorded_already(resolved, directory, events, args.rerun):
        return 0
    result, run_dir, path = execute(resolved, registry, directory, events)
    report(events, result, [
        f"model saved to {run_dir} (score the test split: mmbench predict {resolved.config_hash()} --out DIR)",
        f"row appended to {path} (and {path.with_suffix('.md').name})"],
        run_dir=str(run_dir), leaderboard=str(path))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run one encoder x reducer x model combination and record its AUC")
    p.add_argument("config", help="YAML config with sections dataset, encoder, reducer, model, train")
    add_set(p)
    add_leaderboard_dir(p, "where the CSV/markdown rows go")
    add_rerun(p)
    p.set_defaults(func=cmd_run)
