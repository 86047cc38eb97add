"""Run a search: open (or resume) its study, run trials until the budget is used, report the best.

Several workers (processes, machines) may run the same search file against one storage at once;
each asks the study for its next trial, so they share the budget and the sampler's knowledge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..files import paths
from ..files.atomic import atomic_write_text
from ..run.callbacks import RunCallbacks
from ..contract.components import RunContext
from ..leaderboard import store
from ..report.stats import delong, paired_test
from ..run.trainer import EpochLog
from . import study as study_mod
from .objective import Outcome, Session, Surplus, TrialFailed, decoded_params, train_trial
from .spec import TuneSpec, default_values


class Display:
    """What a search tells its user; the CLI shows it with rich, tests pass nothing."""

    def log(self, message: str) -> None: ...
    def opened(self, counted: int, total: int, metric: str) -> None: ...
    def trial_started(self, number: int, values: dict) -> None: ...
    def epoch(self, number: int, log: EpochLog) -> None: ...
    def trial_finished(self, number: int, values: dict, outcome: Outcome, best: float | None) -> None: ...


@dataclass
class TrialLine:
    number: int
    state: str  # complete | pruned | failed
    value: float | None
    values: dict
    config_hash: str = ""
    epochs: int | None = None
    defaults: bool = False


@dataclass
class Comparison:
    """The best trial against the defaults trial, paired on the same valid rows (both selected on valid)."""

    best: TrialLine
    defaults: TrialLine
    delta: float
    p_value: float | None  # None: the predictions of one of them are not in the leaderboard folder


@dataclass
class TuneReport:
    study: str
    storage: str
    total: int
    direction: str
    metric: str
    trials: list[TrialLine] = field(default_factory=list)  # ended trials (complete, pruned, failed), best first
    requeued: list[int] = field(default_factory=list)
    ran_here: int = 0
    comparison: Comparison | None = None
    best_config: Path | None = None
    dataset: str = ""

    def counts(self) -> str:
        """'5 complete, 2 pruned, 1 failed': a pruned or failed trial did not finish its epochs."""
        n = {state: sum(t.state == state for t in self.trials) for state in ("complete", "pruned", "failed")}
        return ", ".join(f"{count} {state}" for state, count in n.items() if count or state == "complete")


def storage_url(spec: TuneSpec, ctx: RunContext) -> str:
    return spec.options.storage or study_mod.default_storage(ctx.home)


def _defaults_trial(study, spec: TuneSpec, session: Session) -> None:
    values = default_values(spec, session.base.as_dict())
    if values is None:
        return
    study.enqueue_trial(values, user_attrs={study_mod.DEFAULTS: True})


def run_local(study, spec: TuneSpec, session: Session, display: Display) -> int:
    """Trials in this process until the budget is used; returns how many ran here."""
    total, ran = spec.options.trials, 0

    def objective(trial):
        nonlocal ran
        session.start(trial, total)
        plan = session.plan(trial)
        display.trial_started(trial.number, plan.values)
        if plan.done is not None:
            outcome = plan.done
        else:
            prep = session.stage(plan.resolved)
            session.callbacks.on_run_start(plan.resolved)
            outcome = train_trial(plan.resolved, session.data, prep, trial, session.monitor,
                                  lambda log: display.epoch(trial.number, log), session.callbacks)
        session.finish(trial, plan, outcome)
        ran += 1
        display.trial_finished(trial.number, plan.values, outcome, _best_value(study))
        if outcome.state == "pruned":
            raise study_mod.optuna().TrialPruned(f"pruned at epoch {outcome.epoch}")
        if outcome.state == "failed":
            raise TrialFailed(outcome.error)
        return outcome.value

    def stop_at_budget(study, _trial) -> None:
        if study_mod.used(study) >= total:
            study.stop()

    left = total - study_mod.used(study)
    if left > 0:
        study.optimize(objective, n_trials=left, catch=(TrialFailed, Surplus), callbacks=[stop_at_budget])
    return ran


def _best_value(study) -> float | None:
    try:
        return study.best_value
    except ValueError:
        return None


def run_tune(spec: TuneSpec, registry, leaderboard_dir: Path, *, ctx: RunContext | None = None,
             executor: str | None = None, address: str | None = None, display: Display | None = None,
             callbacks: RunCallbacks | None = None) -> TuneReport:
    """``callbacks``: the run hooks (``callbacks.PluginHooks``), so that trackers see every trial."""
    ctx = ctx or RunContext()
    display = display or Display()
    session = Session(spec, registry, ctx, leaderboard_dir, display.log, callbacks)
    url = storage_url(spec, ctx)
    executor = executor or spec.executor
    # heartbeats need Study.optimize; the Ray driver asks and tells, and is its trials' only owner
    storage = study_mod.open_storage(url, None if executor == "ray" else spec.options.heartbeat)
    fingerprint = study_mod.fingerprint(spec, session.base.config_hash(), session.monitor)
    study, created = study_mod.open_study(spec, storage, url, session.monitor, fingerprint)
    if created and spec.options.defaults_first:
        _defaults_trial(study, spec, session)
    requeued = study_mod.requeue_dead_local_trials(study)
    if requeued:
        display.log(f"trials {', '.join(map(str, requeued))} lost their worker (killed): their parameters run again")
    display.opened(study_mod.used(study), spec.options.trials, session.monitor)
    if executor == "ray":
        from .ray_executor import run_on_ray

        ran = run_on_ray(study, spec, session, url, address, display)
    else:
        ran = run_local(study, spec, session, display)
    report = summarise(study, spec, Path(leaderboard_dir), session.data.dataset_id, url, session.monitor)
    report.requeued, report.ran_here = requeued, ran
    if report.trials and report.trials[0].state == "complete":
        report.best_config = write_best_config(spec, report, ctx.home)
    return report


# ------------------------------------------------------------------------------------ the results


def trial_lines(study, spec: TuneSpec) -> list[TrialLine]:
    states = study_mod.optuna().trial.TrialState
    names = {states.COMPLETE: "complete", states.PRUNED: "pruned", states.FAIL: "failed"}
    lines = []
    for t in study_mod.finished(study):
        value = t.value if t.state == states.COMPLETE else (
            t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
        epochs = t.user_attrs.get("epochs") or (max(t.intermediate_values) if t.intermediate_values else None)
        lines.append(TrialLine(t.number, names[t.state], value, decoded_params(spec, t.params),
                               t.user_attrs.get("config_hash", ""), epochs,
                               bool(t.user_attrs.get(study_mod.DEFAULTS))))
    return lines


def summarise(study, spec: TuneSpec, directory: Path, dataset: str, url: str, monitor: str) -> TuneReport:
    direction = study_mod.direction(monitor)
    sign = -1 if direction == "maximize" else 1
    order = {"complete": 0, "pruned": 1, "failed": 2}
    lines = sorted(trial_lines(study, spec), key=lambda t: (order[t.state], sign * (t.value if t.value is not None
                                                                                    else -sign * math.inf)))
    report = TuneReport(spec.options.study, url, spec.options.trials, direction, monitor, lines, dataset=dataset)
    complete = [t for t in lines if t.state == "complete"]
    defaults = next((t for t in complete if t.defaults), None)
    if complete and defaults is not None and complete[0] is not defaults:
        report.comparison = compare(complete[0], defaults, directory, dataset)
    return report


def compare(best: TrialLine, defaults: TrialLine, directory: Path, dataset: str) -> Comparison:
    """Paired DeLong test of best - defaults on the valid rows, from the predictions the leaderboard saved."""
    labels, preds = store.load_predictions(directory, dataset, [best.config_hash, defaults.config_hash])
    if labels is None or len(preds) < 2:
        return Comparison(best, defaults, best.value - defaults.value, None)
    aucs, cov = delong(labels, np.stack([preds[best.config_hash], preds[defaults.config_hash]]))
    delta, p = paired_test(aucs, cov, np.array([1.0, -1.0]))
    return Comparison(best, defaults, delta, p)


def best_config(spec: TuneSpec, line: TrialLine) -> dict:
    return spec.config_for(line.values)


def write_best_config(spec: TuneSpec, report: TuneReport, home: Path) -> Path:
    best = report.trials[0]
    path = paths.inside(Path(home) / "tune", spec.options.study, "tune.study", ".best.yaml")
    head = (f"# best trial ({best.number}) of study '{spec.options.study}': valid {report.metric} {best.value:.4f},\n"
            f"# selected on valid (so optimistic there); rerun with other seeds: mmbench run {path.name} "
            f"--set train.seed=N\n")
    atomic_write_text(path, head + yaml.safe_dump(best_config(spec, best), sort_keys=False, default_flow_style=None))
    return path


def describe(spec: TuneSpec, registry, ctx: RunContext, log) -> None:
    """``--dry-run``: the space (each corner checked against the plugins), the study's state, what would run."""
    session = Session(spec, registry, ctx, Path("."), log)
    url = storage_url(spec, ctx)
    o = spec.options
    log(f"study '{o.study}' in {url}: {o.trials} trials, sampler {o.sampler}"
        f"{'' if o.seed is None else f' (seed {o.seed})'}, pruner {o.pruner.name}, "
        f"objective: valid {session.monitor} ({study_mod.direction(session.monitor)})")
    log(f"base config {session.base.config_hash()}: {spec.base['encoder']['name']} / {spec.base['reducer']['name']} / "
        f"{spec.base['model']['name']} on {spec.base['dataset']['name']}")
    for dim in spec.space:
        log(f"  {dim.key}: {dim.describe()}")
    log("every choice and both ends of every range resolve as a run's config (checked on loading)")
    defaults = default_values(spec, session.base.as_dict())
    log("trial 0 = the base config's values " + (str(decoded_params(spec, defaults)) if defaults else
                                                  "(not queued: they lie outside the space)")
        if o.defaults_first else "no defaults trial (tune.defaults_first: false)")
    opt = study_mod.optuna()
    storage = study_mod.open_storage(url, o.heartbeat)
    if o.study in opt.get_all_study_names(storage):
        study = opt.load_study(study_name=o.study, storage=storage)
        used = study_mod.used(study)
        best = _best_value(study)
        log(f"the study exists: {used} of {o.trials} trials counted"
            + (f", best valid {session.monitor} so far {best:.4f}" if best is not None else "")
            + f"; {max(o.trials - used, 0)} would run")
    else:
        log(f"the study does not exist yet: {o.trials} trials would run")

