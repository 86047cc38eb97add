"""``mmbench tune SEARCH.yaml``: hyper-parameter search on Optuna; every finished trial a leaderboard row."""
from __future__ import annotations

import json

import dataclasses

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..run.callbacks import CallbackList, EventCallbacks, PluginHooks
from ..contract.components import RunContext
from ..contract.registry import default_registry
from . import add_leaderboard_dir, add_set, events_of, number
from .run import output_dir


def _values(values: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else _short(v)}" for k, v in values.items())


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class EventDisplay:
    """A search on the command's event stream: a task over the study's trials (with the best value so
    far), a line per trial's start and end, each epoch named by its trial."""

    def __init__(self, events):
        self.events, self.metric, self.task = events, "auc", None

    def log(self, message: str) -> None:
        self.events.message(message)

    def opened(self, counted: int, total: int, metric: str) -> None:
        self.metric = metric
        self.task = self.events.task("trials", total, best="")
        if counted:
            self.task.update(completed=min(counted, total))
            self.log(f"resuming: {counted} of {total} trials already counted")

    def trial_started(self, number: int, values: dict) -> None:
        self.log(f"trial {number} [{_values(values)}]: start")

    def epoch(self, number: int, log) -> None:
        self.events.epoch(log, run=f"trial {number}")

    def trial_finished(self, number: int, values: dict, outcome, best) -> None:
        value = f"valid {self.metric} {outcome.value:.4f}" if outcome.value is not None else ""
        what = {"complete": value,
                "recorded": f"{value} (already in the leaderboard: not trained again)",
                "pruned": f"pruned at epoch {outcome.epoch} ({value})",
                "failed": f"FAILED: {outcome.error}"}[outcome.state]
        self.log(f"trial {number} [{_values(values)}]: {what}")
        if self.task is not None:
            self.task.update(advance=1, best=f"best {best:.4f}" if best is not None else "")

    def close(self) -> None:
        if self.task is not None:
            self.task.close()


def _final_table(report, keys: list[str], top: int) -> Table:
    table = Table(title=f"study '{report.study}': the first {min(top, len(report.trials))} of {len(report.trials)} "
                        f"trials ({report.counts()}), best valid {report.metric} first, selected on valid")
    for col in ["trial", "state", f"valid {report.metric}", "epochs", *keys, "config"]:
        table.add_column(col, overflow="fold")
    for t in report.trials[:top]:
        table.add_row(str(t.number) + (" (defaults)" if t.defaults else ""), t.state,
                      f"{t.value:.4f}" if t.value is not None else "—", str(t.epochs or "—"),
                      *[_values({k: t.values[k]}).split("=", 1)[1] if k in t.values else "—" for k in keys],
                      t.config_hash)
    return table


def cmd_tune(args) -> int:
    from ..tuning import run as tune_run
    from ..tuning import spec as tune_spec

    events = events_of(args)
    registry = default_registry()
    overrides = list(args.set)
    for flag, key in ((args.trials, "tune.trials"), (args.storage, "tune.storage"), (args.study, "tune.study")):
        if flag is not None:
            overrides.append(f"{key}={flag}")
    spec = tune_spec.load(args.config, registry, overrides)
    if args.dry_run:
        tune_run.describe(spec, registry, RunContext(events=events), events.result)  # the plan is the result
        events.result("dry run: nothing ran")
        return 0
    if args.address and not args.executor:
        args.executor = "ray"
    directory = output_dir(args.leaderboard_dir)
    display = EventDisplay(events)
    try:
        report = tune_run.run_tune(spec, registry, directory, ctx=RunContext(events=events), executor=args.executor,
                                   address=args.address, display=display,
                                   callbacks=CallbackList(EventCallbacks(events, epochs=False), PluginHooks(registry)))
    finally:
        display.close()
    lines = []
    c = report.comparison
    if c is not None:
        p = "not available (predictions missing)" if c.p_value is None else (
            "< 1e-4" if c.p_value < 1e-4 else f"{c.p_value:.4f}")
        lines.append(f"best trial {c.best.number} vs the defaults (trial {c.defaults.number}): "
                     f"Δ valid {report.metric} {c.delta:+.4f}, paired DeLong p {p}. Both measured on valid, and "
                     f"the best was selected on valid: the Δ is optimistic; confirm with other seeds or data.")
    if report.best_config is not None:
        lines.append(f"best config: {report.best_config} (mmbench run {report.best_config})")
    lines.append(f"{report.ran_here} trial(s) ran in this process; study '{report.study}' in {report.storage}; "
                 f"rows in {directory / (report.dataset + '.csv')} (marked study={report.study})")
    table = _final_table(report, [d.key for d in spec.space], args.top)
    events.result(Group(table, *(Text(line) for line in lines)), study=report.study, storage=report.storage,
                  metric=report.metric, ran_here=report.ran_here,
                  best_config=str(report.best_config) if report.best_config else None,
                  trials=[dataclasses.asdict(t) for t in report.trials])
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("tune", help="hyper-parameter search on Optuna (TPE, pruning by epoch, resumable)")
    p.add_argument("config", help="search YAML: a run config plus a 'tune:' section with the space")
    add_set(p, "override a value, e.g. --set train.epochs=3 or --set tune.pruner=halving")
    p.add_argument("--trials", type=number(int, 1), help="the study's total number of trials (tune.trials)")
    p.add_argument("--study", help="the study's name (tune.study; default: the file's stem)")
    p.add_argument("--storage", metavar="URL", help="an Optuna RDB URL (default sqlite under $MMBENCH_HOME/tune/)")
    p.add_argument("--dry-run", action="store_true", help="check the space and show the study's state; run nothing")
    p.add_argument("--executor", choices=["local", "ray"], help="override the file's executor (default local)")
    p.add_argument("--address", help="Ray cluster address (implies --executor ray)")
    p.add_argument("--top", type=number(int, 1), default=10, help="rows of the final table (default 10)")
    add_leaderboard_dir(p, "where the trials' rows go")
    p.set_defaults(func=cmd_tune)
