"""One trial = one measured run: the trial's values set on the base config, trained with per-epoch
pruning, and (when it finishes) one leaderboard row marked as a trial of its study."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..run import config as config_mod
from ..run import pipeline
from ..run.callbacks import RunCallbacks
from ..contract.components import RunContext, ValidPredictions
from ..errors import MMBenchError, one_line
from ..leaderboard import pending, store
from ..run.row import Row
from ..sweep.stages import Prepared
from ..run.trainer import EpochLog
from . import study as study_mod
from .spec import TuneSpec


class Pruned(MMBenchError):
    """Raised from inside training when the pruner stops a trial (an MMBenchError, so that the
    plugin error wrapper lets it through unchanged)."""

    def __init__(self, epoch: int, value: float):
        super().__init__(f"pruned at epoch {epoch}")
        self.epoch, self.value = epoch, value


class TrialFailed(Exception):
    """The trial's configuration failed (it counts against the budget, as a failed row)."""


class Surplus(Exception):
    """The trial started after the budget was reached by other workers (it does not count)."""


class PruningCallbacks(RunCallbacks):
    """Reports each epoch's valid metric to the trial and stops training when the pruner says so; the
    run's other listeners (progress, tracker plugins) hear every event too."""

    def __init__(self, trial, monitor: str, on_epoch: Callable[[EpochLog], None] | None = None,
                 listeners: RunCallbacks | None = None):
        self.trial, self.monitor, self.on_epoch = trial, monitor, on_epoch
        self.listeners = listeners or RunCallbacks()

    def on_epoch_start(self, epoch: int, n_steps: int) -> None:
        self.listeners.on_epoch_start(epoch, n_steps)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self.listeners.on_step(epoch, step, loss)

    def on_optimizer_step(self, epoch: int, step: int) -> None:
        self.listeners.on_optimizer_step(epoch, step)

    def on_epoch_end(self, log: EpochLog) -> None:
        self.listeners.on_epoch_end(log)
        value = log.valid[self.monitor]
        if self.on_epoch is not None:
            self.on_epoch(log)
        if math.isfinite(value):
            self.trial.report(value, log.epoch)
            if self.trial.should_prune():
                raise Pruned(log.epoch, value)


@dataclass
class Outcome:
    state: str  # complete | pruned | failed | recorded (its config already had a row)
    value: float | None = None
    row: Row | dict | None = None  # a Row when measured now, the CSV's dict when recorded before
    valid: ValidPredictions | None = None
    epoch: int | None = None
    error: str = ""


def train_trial(resolved: pipeline.Resolved, data, prep: Prepared, trial, monitor: str,
                on_epoch: Callable[[EpochLog], None] | None = None,
                listeners: RunCallbacks | None = None) -> Outcome:
    """Train one trial's model (the part a Ray worker runs); never raises for the trial's own failure."""
    if prep.error:
        return Outcome("failed", error=prep.error)
    try:
        finished = pipeline.finish(resolved, data, prep.reduction, prep.encoding,
                                   PruningCallbacks(trial, monitor, on_epoch, listeners), passes=(Pruned,))
    except Pruned as p:
        return Outcome("pruned", p.value, epoch=p.epoch)
    if finished.trained is None:
        return Outcome("failed", error=finished.row.error)
    return Outcome("complete", finished.trained.result.valid[monitor], finished.row, finished.valid)


@dataclass
class Plan:
    """What a trial will run, decided by the worker that asked for it."""

    number: int
    values: dict
    resolved: pipeline.Resolved | None = None
    config_hash: str = ""
    done: Outcome | None = None  # known without training: a configuration error or an existing row


class Session:
    """What every trial of one search shares in this process: the registry, the loaded dataset, the
    last prepared (encoder, reducer) stage, the leaderboard the rows go to."""

    def __init__(self, spec: TuneSpec, registry, ctx: RunContext, leaderboard_dir: Path,
                 log: Callable[[str], None] = print, callbacks: RunCallbacks | None = None):
        self.spec, self.registry, self.ctx, self.directory, self.log = spec, registry, ctx, Path(leaderboard_dir), log
        base = pipeline.resolve(config_mod.from_dict(spec.base, spec.source), registry)
        self.base = base
        self.monitor = base.train.monitor
        self.callbacks = callbacks or RunCallbacks()  # the run hooks: tracker plugins see each trial
        self._data = None
        self._stage: tuple[str, Prepared] | None = None

    def resolve(self, values: dict) -> pipeline.Resolved:
        raw = self.spec.config_for(values)
        return pipeline.resolve(config_mod.from_dict(raw, self.spec.source), self.registry)

    @property
    def data(self):
        if self._data is None:
            data = pipeline.load_data(self.base.dataset, self.ctx)
            store.check_targets(self.directory, data.dataset_id)  # a blocked CSV is said before any trial trains
            self.callbacks.on_data_loaded(data)
            self._data = data
        return self._data

    def stage(self, resolved: pipeline.Resolved) -> Prepared:
        """The (encoder, reducer) stage of a trial; the last one is kept, the embedding cache holds the rest."""
        d = resolved.as_dict()
        key = repr([d["encoder"], d["reducer"]])
        if self._stage is None or self._stage[0] != key:
            self._stage = None  # release the previous stage's tables first
            try:
                encoding = pipeline.encode_items(resolved, self.data, self.ctx)
                prep = Prepared(pipeline.reduce_items(resolved, encoding, self.ctx), encoding)
            except Exception as exc:
                prep = Prepared(None, None, one_line(exc))
            self._stage = (key, prep)
        return self._stage[1]

    # ------------------------------------------------------------------------------ a trial's life

    def start(self, trial, total: int) -> None:
        trial.set_user_attr(study_mod.WORKER, study_mod.this_worker())
        if study_mod.used(trial.study, before=trial.number) >= total:
            trial.set_user_attr(study_mod.SURPLUS, True)
            raise Surplus(f"trial {trial.number}: the study already has its {total} trials")

    def plan(self, trial) -> Plan:
        values = {dim.key: dim.suggest(trial) for dim in self.spec.space}
        plan = Plan(trial.number, values)
        try:
            plan.resolved = self.resolve(values)
        except MMBenchError as exc:
            plan.done = Outcome("failed", error=one_line(exc))
            return plan
        plan.config_hash = plan.resolved.config_hash()
        trial.set_user_attr("config_hash", plan.config_hash)
        recorded = self._recorded_row(plan.config_hash)
        if recorded is not None:
            value = float(recorded[f"valid_{self.monitor}"])
            plan.done = Outcome("recorded", value, recorded)
        return plan

    def _recorded_row(self, config_hash: str) -> dict | None:
        rows = store.read_rows(store.csv_path(self.directory, self.data.dataset_id))
        return next((r for r in reversed(rows) if r.get("config_hash") == config_hash and store.is_ok(r)), None)

    def _record(self, row: Row, valid) -> None:
        recorded = pending.record_or_keep(self.directory, row, valid, once=True)
        if recorded.pending:  # kept for `mmbench leaderboard add`, never dropped
            self.log(f"trial {row.trial}: {recorded.message()}")

    def finish(self, trial, plan: Plan, outcome: Outcome) -> Outcome:
        """Record the trial's row (finished trials only) and its attributes; returns the outcome."""
        marks = {"study": self.spec.options.study, "trial": plan.number}
        if outcome.state == "complete":
            outcome.row = dataclasses.replace(outcome.row, **marks)
            self._record(outcome.row, outcome.valid)
        elif outcome.state == "failed":
            trial.set_user_attr(study_mod.ERROR, outcome.error[:300])
            if plan.resolved is not None:
                outcome.row = dataclasses.replace(Row.failed(plan.resolved, self.data.dataset_id, outcome.error),
                                                  **marks)
                self._record(outcome.row, None)
        if plan.resolved is not None and outcome.state in ("complete", "failed"):
            self.callbacks.on_run_end(plan.resolved, outcome.row, outcome.valid)
        elif outcome.state == "pruned":  # trackers close the run they opened; the leaderboard gets no row
            self.callbacks.on_run_end(plan.resolved, Row.failed(
                plan.resolved, self.data.dataset_id, f"pruned at epoch {outcome.epoch} by study "
                                                     f"'{self.spec.options.study}'"), None)
        if outcome.state in ("complete", "recorded"):
            values = outcome.row.as_dict() if isinstance(outcome.row, Row) else outcome.row
            for key in ("valid_auc", "valid_logloss", "valid_gauc", "epochs", "best_epoch"):
                trial.set_user_attr(key, _plain(values.get(key)))
        return outcome


def _plain(value):
    """A row value as Optuna stores it (JSON): numbers as numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() and "." not in str(value) else number


def decoded_params(spec: TuneSpec, params: dict) -> dict:
    """A trial's parameters as config values (categorical lists back from their JSON text)."""
    dims = {d.key: d for d in spec.space}
    return {k: dims[k].decode(v) if k in dims else v for k, v in params.items()}

