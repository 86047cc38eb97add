"""``executor: ray`` for searches: each trial is a Ray task with its own resources.

The driver asks the study for trials (up to ``tune.parallel`` at once), prepares their (encoder,
reducer) stage as a local search does, and records rows as tasks finish: the leaderboard keeps one
writer. A task reports each epoch to the study's storage itself, so pruning works across workers;
with workers on other machines the storage must be an RDB URL they can reach (not a local SQLite
file). The tasks go through ``run.ray_pool.RayPool``, the Ray executor sweeps use too.
"""
from __future__ import annotations

import dataclasses

from ..run.ray_pool import RayPool
from ..sweep.stages import Prepared
from . import study as study_mod
from .objective import Outcome, train_trial


def _trial_task(resolved, data, reduction, encoding, url, study_name, trial_id, monitor, listeners=None):
    """Runs on a Ray worker: the trial object is re-opened from the shared storage; ``listeners``
    relay each epoch to the driver."""
    opt = study_mod.optuna()
    study = opt.load_study(study_name=study_name, storage=url)
    trial = opt.trial.Trial(study, trial_id)
    return train_trial(resolved, data, Prepared(reduction, encoding), trial, monitor, listeners=listeners)


def run_on_ray(study, spec, session, url: str, address: str | None, display) -> int:
    opt = study_mod.optuna()
    pool = RayPool(_trial_task, spec.ray, address, lambda label, log: display.epoch(int(label), log))
    total, ran = spec.options.trials, 0
    data_ref = None
    stage_refs: dict[int, object] = {}

    def finish(trial, plan, outcome: Outcome) -> None:
        nonlocal ran
        session.finish(trial, plan, outcome)
        ran += 1
        if outcome.state == "complete" or outcome.state == "recorded":
            study.tell(trial, outcome.value)
        elif outcome.state == "pruned":
            study.tell(trial, state=opt.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=opt.trial.TrialState.FAIL)
        display.trial_finished(trial.number, plan.values, outcome, study.best_value if any(
            t.state == opt.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)) else None)

    while True:
        while len(pool) < spec.options.parallel and study_mod.used(study) < total:
            trial = study.ask()
            trial.set_user_attr(study_mod.WORKER, study_mod.this_worker())
            plan = session.plan(trial)
            display.trial_started(trial.number, plan.values)
            if plan.done is not None:
                finish(trial, plan, plan.done)
                continue
            prep = session.stage(plan.resolved)
            if prep.error:
                finish(trial, plan, Outcome("failed", error=prep.error))
                continue
            if data_ref is None:
                data_ref = pool.put(session.data)
            if id(prep) not in stage_refs:
                stage_refs.clear()  # one stage's table in the object store at a time, as in memory
                stage_refs[id(prep)] = pool.put(prep.reduction)
            session.callbacks.on_run_start(plan.resolved)
            encoding = dataclasses.replace(prep.encoding, vectors=None)  # rows need its seconds and stats only
            pool.submit((trial, plan), str(trial.number), plan.resolved, data_ref, stage_refs[id(prep)], encoding,
                        url, spec.options.study, trial._trial_id, session.monitor)
        if not len(pool):
            pool.close()
            return ran
        for (trial, plan), outcome, error in pool.finished():
            finish(trial, plan, outcome if error is None else Outcome("failed", error=error))
