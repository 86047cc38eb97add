"""``mmbench run CONFIG.yaml [--set key=value ...]``: one benchmark run, one leaderboard row."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import paths
from .. import config as config_mod
from ..callbacks import CallbackList, EpochLog, PluginHooks, RunCallbacks
from ..components import RunContext
from ..leaderboard import store
from ..leaderboard.render import render
from ..registry import default_registry
from ..row import Row
from . import add_leaderboard_dir, add_rerun, add_set
from .plugins import warn_failures


class RichCallbacks(RunCallbacks):
    def __init__(self, progress: Progress, console: Console):
        self.progress, self.console, self.task = progress, console, None

    def on_epoch_start(self, epoch, n_steps):
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(f"train epoch {epoch}", total=n_steps, loss="")

    def on_step(self, epoch, step, loss):
        self.progress.update(self.task, completed=step, loss=f"loss {loss:.4f}")

    def on_epoch_end(self, log: EpochLog):
        v = log.valid
        self.console.print(
            f"epoch {log.epoch}: train loss {log.train_loss:.4f}  valid AUC {v['auc']:.4f}  "
            f"logloss {v['logloss']:.4f}  gAUC {v.get('gauc', float('nan')):.4f}  ({log.seconds:.1f}s)"
        )


def make_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), console=console, transient=True,
    )


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


def recorded_already(resolved, leaderboard_dir: Path, console: Console, rerun: bool) -> bool:
    """True (and one line saying so) when the board already holds an ok row of this config hash:
    an identical rerun would only add a second identical row after minutes of work."""
    if rerun:
        return False
    found = store.find_recorded(leaderboard_dir, resolved.config_hash())
    if found is None:
        return False
    path, row = found
    console.print(f"already recorded: config {resolved.config_hash()} has a row in {path} (valid AUC "
                  f"{float(row['valid_auc']):.4f}, {row.get('timestamp') or 'no date'}); skipped, nothing ran. "
                  f"--rerun runs it again and adds a second row", soft_wrap=True, markup=False)
    return True


def execute(resolved, registry, leaderboard_dir: Path, console: Console):
    """Run, save the checkpoint, record the row and render the board; prints the run's summary table.
    Returns (the pipeline's RunResult, the run folder, the leaderboard CSV)."""
    from .. import checkpoint, pipeline  # torch: imported by the commands that train, not by --help
    from ..trainer import resolve_device

    resolve_device(resolved.train.device)  # a missing GPU is said now, not after data and encoding
    with make_progress(console) as progress:
        ctx = RunContext(device=resolved.train.device, progress=progress)
        result = pipeline.run(resolved, ctx, CallbackList(LeaderboardTargets(leaderboard_dir),
                                                          RichCallbacks(progress, console), PluginHooks(registry)))
    # checkpoint first: a row always has its model on disk (a checkpoint without a row is harmless)
    run_dir = checkpoint.save_run(ctx.home, resolved, result.model, result.row)
    path = store.append_row(leaderboard_dir, result.row, result.valid)
    render(leaderboard_dir, result.row.dataset)  # md + chart with CIs
    console.print(summary_table(result.row, result.encoding.cache_hit))
    return result, run_dir, path


def cmd_run(args) -> int:
    console = Console(highlight=False)
    directory = output_dir(args.leaderboard_dir)
    cfg = config_mod.load(args.config, args.set)
    registry = default_registry()
    warn_failures(registry, Console(stderr=True, highlight=False))
    from .. import pipeline

    resolved = pipeline.resolve(cfg, registry)
    if recorded_already(resolved, directory, console, args.rerun):
        return 0
    _, run_dir, path = execute(resolved, registry, directory, console)
    console.print(f"model saved to {run_dir} (score the test split: mmbench predict {resolved.config_hash()} --out DIR)")
    console.print(f"row appended to {path} (and {path.with_suffix('.md').name})")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run one encoder x reducer x model combination and record its AUC")
    p.add_argument("config", help="YAML config with sections dataset, encoder, reducer, model, train")
    add_set(p)
    add_leaderboard_dir(p, "where the CSV/markdown rows go")
    add_rerun(p)
    p.set_defaults(func=cmd_run)
