"""``executor: ray`` for searches: each trial is a Ray task with its own resources.

The driver asks the study for trials (up to ``tune.parallel`` at once), prepares their (encoder,
reducer) stage as a local search does, and records rows as tasks finish: the leaderboard keeps one
writer. A task reports each epoch to the study's storage itself, so pruning works across workers;
with workers on other machines the storage must be an RDB URL they can reach (not a local SQLite
file). Ray is imported here only.
"""
from __future__ import annotations

import dataclasses

from .. import liblog
from ..errors import MMBenchError, one_line
from ..interrupts import handle_sigterm
from ..relay import EpochRelay
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
    try:
        import ray
    except ImportError:
        raise MMBenchError("executor ray needs Ray: pip install 'mmbench[ray]' (or use executor: local)") from None
    opt = study_mod.optuna()
    liblog.reapply()  # importing Ray installed its own handler
    if not ray.is_initialized():
        ray.init(address=address or spec.ray.address, runtime_env=spec.ray.runtime_env, log_to_driver=False,
                 logging_level=liblog.level("ray"))
        liblog.reapply()
        handle_sigterm()  # ray.init made SIGTERM a silent exit; SIGTERM stops as Ctrl-C does
    task = ray.remote(_trial_task).options(num_cpus=spec.ray.num_cpus, num_gpus=spec.ray.num_gpus, max_retries=0)
    total, ran, pending = spec.options.trials, 0, {}
    data_ref = None
    stage_refs: dict[int, object] = {}
    relay = EpochRelay(lambda label, log: display.epoch(int(label), log))

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
        while len(pending) < spec.options.parallel and study_mod.used(study) < total:
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
                data_ref = ray.put(session.data)
            if id(prep) not in stage_refs:
                stage_refs.clear()  # one stage's table in the object store at a time, as in memory
                stage_refs[id(prep)] = ray.put(prep.reduction)
            session.callbacks.on_run_start(plan.resolved)
            encoding = dataclasses.replace(prep.encoding, vectors=None)  # rows need its seconds and stats only
            ref = task.remote(plan.resolved, data_ref, stage_refs[id(prep)], encoding,
                              url, spec.options.study, trial._trial_id, session.monitor,
                              relay.callbacks(str(trial.number)))
            pending[ref] = (trial, plan)
        if not pending:
            relay.drain()
            return ran
        for ref in relay.wait(ray, list(pending)):
            trial, plan = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the worker died (OOM, node lost)
                outcome = Outcome("failed", error=f"ray: {one_line(exc)}")
            finish(trial, plan, outcome)
