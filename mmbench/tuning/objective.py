"""One trial = one measured run: the trial's values set on the base config, trained with per-epoch
pruning, and (when it finishes) one leaderboard row marked as a trial of its study."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import config as config_mod
from .. import leaderboard, pipeline
from ..errors import MMBenchError
from ..sweep import Prepared, failed_row, first_line
from ..trainer import Callbacks, EpochLog
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


class PruningCallbacks(Callbacks):
    """Reports each epoch's valid metric to the trial and stops training when the pruner says so."""

    def __init__(self, trial, monitor: str, on_epoch: Callable[[EpochLog], None] | None = None):
        self.trial, self.monitor, self.on_epoch = trial, monitor, on_epoch

    def on_epoch_end(self, log: EpochLog) -> None:
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
    row: dict | None = None
    probs: np.ndarray | None = None
    epoch: int | None = None
    error: str = ""


def train_trial(resolved: pipeline.Resolved, data, prep: Prepared, trial, monitor: str,
                on_epoch: Callable[[EpochLog], None] | None = None) -> Outcome:
    """Train one trial's model (the part a Ray worker runs); never raises for the trial's own failure."""
    if prep.error:
        return Outcome("failed", error=prep.error)
    try:
        _, result, probs = pipeline.train_on(resolved, data, prep.reduction, PruningCallbacks(trial, monitor, on_epoch))
    except Pruned as p:
        return Outcome("pruned", p.value, epoch=p.epoch)
    except Exception as exc:
        return Outcome("failed", error=first_line(exc))
    row = pipeline.make_row(resolved, data, result, prep.encode_seconds, pipeline.RunContext(stats=dict(prep.stats)))
    return Outcome("complete", result.valid[monitor], row, probs)


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

    def __init__(self, spec: TuneSpec, registry, ctx: pipeline.RunContext, leaderboard_dir: Path,
                 log: Callable[[str], None] = print):
        self.spec, self.registry, self.ctx, self.directory, self.log = spec, registry, ctx, Path(leaderboard_dir), log
        base = pipeline.resolve(config_mod.from_dict(spec.base, spec.source), registry)
        self.base = base
        self.monitor = base.train.monitor
        self._data = None
        self._stage: tuple[str, Prepared] | None = None

    def resolve(self, values: dict) -> pipeline.Resolved:
        raw = self.spec.config_for(values)
        return pipeline.resolve(config_mod.from_dict(raw, self.spec.source), self.registry)

    @property
    def data(self):
        if self._data is None:
            self._data = pipeline.load_data(self.base, self.ctx)
        return self._data

    def stage(self, resolved: pipeline.Resolved) -> Prepared:
        """The (encoder, reducer) stage of a trial; the last one is kept, the embedding cache holds the rest."""
        d = resolved.as_dict()
        key = repr([d["encoder"], d["reducer"]])
        if self._stage is None or self._stage[0] != key:
            self._stage = None  # release the previous stage's tables first
            self.ctx.stats.clear()
            try:
                vecs, _, seconds, inputs = pipeline.encode_items(resolved, self.data, self.ctx)
                reduction = pipeline.prepare_reduction(resolved, vecs, inputs, self.ctx)
                prep = Prepared(reduction, seconds, dict(self.ctx.stats))
            except Exception as exc:
                prep = Prepared(None, error=first_line(exc))
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
            plan.done = Outcome("failed", error=first_line(exc))
            return plan
        plan.config_hash = plan.resolved.config_hash()
        trial.set_user_attr("config_hash", plan.config_hash)
        recorded = self._recorded_row(plan.config_hash)
        if recorded is not None:
            value = float(recorded[f"valid_{self.monitor}"])
            plan.done = Outcome("recorded", value, recorded)
        return plan

    def _recorded_row(self, config_hash: str) -> dict | None:
        rows = leaderboard.read_rows(leaderboard.csv_path(self.directory, self.data.dataset_id))
        return next((r for r in reversed(rows) if r.get("config_hash") == config_hash
                     and r.get("status", "ok") in ("ok", "")), None)

    def finish(self, trial, plan: Plan, outcome: Outcome) -> Outcome:
        """Record the trial's row (finished trials only) and its attributes; returns the outcome."""
        marks = {"study": self.spec.options.study, "trial": plan.number}
        if outcome.state == "complete":
            row = {**outcome.row, **marks}
            leaderboard.record_row(self.directory, row, outcome.probs, self.data.valid.label)
            outcome.row = row
        elif outcome.state == "failed":
            trial.set_user_attr(study_mod.ERROR, outcome.error[:300])
            if plan.resolved is not None:
                leaderboard.record_row(self.directory, {**failed_row(plan.resolved, self.data.dataset_id,
                                                                     outcome.error), **marks})
        if outcome.row is not None:
            for key in ("valid_auc", "valid_logloss", "valid_gauc", "epochs", "best_epoch"):
                trial.set_user_attr(key, _plain(outcome.row.get(key)))
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

