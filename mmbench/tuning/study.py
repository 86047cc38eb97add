"""The Optuna study behind a search: storage, sampler, pruner, the trial budget, and resuming.

The budget is ``tune.trials`` trials that *count*: complete, pruned, failed by the configuration
(e.g. training diverged) or running. A trial whose worker died (killed, machine lost) does not count:
it is failed and its parameters are queued again, so a study killed at any moment and started again
runs the rest without repeating a finished trial. A dead worker on this machine is recognised at
once (its process id is gone); one elsewhere after four heartbeats of silence. So is a trial whose
worker was killed in the instant between Optuna creating it and the worker marking it (no process id
to check): until its heartbeat goes stale it counts as running.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import warnings
from pathlib import Path

from filelock import FileLock

from ..output import liblog
from ..errors import ConfigError, MMBenchError

WORKER = "mmbench_worker"  # host:pid of the process running the trial
ERROR = "mmbench_error"  # set on a trial that failed because of its configuration (counts)
SURPLUS = "mmbench_surplus"  # set on a trial started after the budget was reached (does not count)
DEFAULTS = "mmbench_defaults"  # the trial of the base config's own values
RETRY_OF = "mmbench_retry_of"  # a trial re-run because its worker died


class _TrialFailureLines(logging.Filter):
    """Drops Optuna's "Trial N failed with parameters ... because of ..." warning and its traceback:
    mmbench says each failed trial in one line of its own (the trial, the key, the reason), and a
    Ctrl-C once. ``MMBENCH_DEBUG=1`` keeps them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if os.environ.get("MMBENCH_DEBUG"):
            return True
        message = record.getMessage()
        return not (message.startswith("Trial ") and " failed with " in message)


_TRIAL_FAILURES = _TrialFailureLines()


def optuna():
    try:
        import optuna as module
    except ImportError:
        raise MMBenchError("mmbench tune needs Optuna: pip install 'mmbench[tune]'") from None
    if module.logging.get_verbosity() < module.logging.WARNING:  # the CLI may have raised it further
        module.logging.set_verbosity(module.logging.WARNING)
    liblog.reapply()  # importing Optuna installs its own handler
    failures = logging.getLogger("optuna.study._optimize")
    if _TRIAL_FAILURES not in failures.filters:
        failures.addFilter(_TRIAL_FAILURES)
    # heartbeats and stale-trial retries are marked experimental; they are what makes resuming safe
    warnings.filterwarnings("ignore", category=module.exceptions.ExperimentalWarning)
    return module


def default_storage(home: Path) -> str:
    path = Path(home) / "tune" / "studies.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_storage(url: str, heartbeat: int | None):
    opt = optuna()
    # several processes share one SQLite file: wait for its lock instead of failing at once
    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    beat = {} if heartbeat is None else {
        "heartbeat_interval": heartbeat, "grace_period": 4 * heartbeat,
        "heartbeat_stale_trial_callback": opt.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}
    try:
        # workers starting together on a fresh database would all create its tables: one at a time
        with _creation_lock(url):
            return opt.storages.RDBStorage(url, engine_kwargs=engine, **beat)
    except Exception as exc:  # a bad URL, a missing driver, an unreachable server
        raise ConfigError(f"tune.storage {url!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def _creation_lock(url: str):
    """A file lock beside a SQLite database file; nothing for a server database (it orders DDL itself)."""
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if not path or path.startswith(":memory:"):
        return contextlib.nullcontext()
    return FileLock(path + ".lock")


def make_sampler(options, offset: int = 0):
    """The sampler; ``offset`` shifts its seed so that workers joining a study do not draw the
    creator's sequence of points again."""
    opt = optuna()
    seed = None if options.seed is None else options.seed + offset
    if options.sampler == "random":
        return opt.samplers.RandomSampler(seed=seed)
    return opt.samplers.TPESampler(seed=seed, n_startup_trials=options.startup_trials)


def make_pruner(options):
    opt, p = optuna(), options.pruner
    if p.name == "median":
        return opt.pruners.MedianPruner(n_startup_trials=p.startup_trials, n_warmup_steps=p.warmup_epochs)
    if p.name == "halving":
        return opt.pruners.SuccessiveHalvingPruner(min_resource=p.min_epochs, reduction_factor=p.reduction_factor)
    return opt.pruners.NopPruner()


def direction(monitor: str) -> str:
    return "minimize" if monitor == "logloss" else "maximize"


def open_study(spec, storage, url: str, monitor: str, fingerprint: dict):
    """(study, created): the study named ``tune.study``, created on first use. Only the worker that
    creates it queues the defaults trial, so two workers starting together queue it once."""
    opt = optuna()
    name, sampler, pruner = spec.options.study, make_sampler(spec.options), make_pruner(spec.options)
    try:
        study = opt.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                 direction=direction(monitor))
        study.set_user_attr("mmbench", fingerprint)
        return study, True
    except opt.exceptions.DuplicatedStudyError:
        sampler = make_sampler(spec.options, offset=os.getpid())
        study = opt.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    recorded = study.user_attrs.get("mmbench")
    if recorded is not None and recorded != fingerprint:
        changed = sorted(k for k in set(recorded) | set(fingerprint) if recorded.get(k) != fingerprint.get(k))
        raise ConfigError(f"{spec.source}: study '{name}' in {url} was started with a different "
                          f"{' and '.join(changed)}; give this search another tune.study name")
    return study, False


def fingerprint(spec, base_hash: str, monitor: str) -> dict:
    """What a study's trials are comparable under: the base config, the space, the metric."""
    return {"base": base_hash, "monitor": monitor,
            "space": json.loads(json.dumps({d.key: d.describe() for d in spec.space}))}


def counts(trial) -> bool:
    states = optuna().trial.TrialState
    if trial.state in (states.COMPLETE, states.PRUNED, states.RUNNING):
        return not trial.user_attrs.get(SURPLUS)
    return trial.state == states.FAIL and ERROR in trial.user_attrs


def used(study, before: int | None = None) -> int:
    """Trials that count against the budget (of those numbered below ``before``, if given)."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if counts(t) and (before is None or t.number < before))


def finished(study) -> list:
    states = optuna().trial.TrialState
    return [t for t in study.get_trials(deepcopy=False) if t.state in (states.COMPLETE, states.PRUNED)
            or (t.state == states.FAIL and ERROR in t.user_attrs)]


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def requeue_dead_local_trials(study) -> list[int]:
    """Fail the running trials whose worker process on this machine is gone and queue their
    parameters again; returns their numbers."""
    opt = optuna()
    host, requeued = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(opt.trial.TrialState.RUNNING,)):
        worker_host, _, pid = str(t.user_attrs.get(WORKER, "")).rpartition(":")
        if worker_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            study._storage.set_trial_state_values(t._trial_id, state=opt.trial.TrialState.FAIL)
        except opt.exceptions.UpdateFinishedTrialError:
            continue  # another worker got there first
        attrs = {RETRY_OF: t.user_attrs.get(RETRY_OF, t.number)}
        if t.user_attrs.get(DEFAULTS):
            attrs[DEFAULTS] = True
        study.enqueue_trial(t.params, user_attrs=attrs)
        requeued.append(t.number)
    return requeued
