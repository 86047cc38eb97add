"""Where a sweep's models train: in this process (``local``) or as Ray tasks (``ray``). Both take the
prepared stages and hand each outcome to ``record`` (the driver alone writes the leaderboard).

Ray is imported only when the Ray executor runs: the driver loads the data and prepares each
(encoder, reducer) stage, puts the data once and each stage's reduction once into the object store,
and submits one task per run with ``num_cpus`` / ``num_gpus``; rows stream back as tasks finish, and
each epoch of a task comes back as it ends through a Ray queue (``relay.EpochRelay``), so the driver's log
shows every run's epochs as a local sweep does.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from .. import liblog
from ..callbacks import RunCallbacks, label_of
from ..errors import MMBenchError, one_line
from ..interrupts import handle_sigterm
from ..relay import EpochRelay
from ..row import Row
from .stages import Prepared, train_planned

Record = Callable  # record(run, row, valid)


def run_local(stages: Iterable, data, record: Record, callbacks: RunCallbacks) -> None:
    for group, prep in stages:
        for run in group:
            callbacks.on_run_start(run.resolved)
            row, valid = train_planned(run, data, prep, callbacks)
            record(run, row, valid)


def _train_task(run, data, reduction, encoding, callbacks=None):
    """Runs on a Ray worker; Ray resolves the object refs (data, reduction) before the call."""
    return train_planned(run, data, Prepared(reduction, encoding), callbacks)


def run_on_ray(stages: Iterable, data, options, address: str | None, record: Record, callbacks: RunCallbacks,
               on_epoch: Callable | None = None) -> None:
    """``on_epoch(label, log)``: each epoch of each task, relayed to this process as it ends."""
    try:
        import ray
    except ImportError:
        raise MMBenchError("executor ray needs Ray: pip install 'mmbench[ray]' (or use executor: local)") from None
    liblog.reapply()  # importing Ray installed its own handler
    if not ray.is_initialized():
        ray.init(address=address or options.address, runtime_env=options.runtime_env, log_to_driver=False,
                 logging_level=liblog.level("ray"))
        liblog.reapply()
        handle_sigterm()  # ray.init made SIGTERM a silent exit; SIGTERM stops as Ctrl-C does
    task = ray.remote(_train_task).options(num_cpus=options.num_cpus, num_gpus=options.num_gpus, max_retries=0)
    data_ref = ray.put(data)
    relay = EpochRelay(on_epoch)
    pending = {}

    def collect(refs) -> None:
        for ref in refs:
            run = pending.pop(ref)
            try:
                row, valid = ray.get(ref)
            except Exception as exc:  # the worker died (OOM, node lost): the run failed
                row, valid = Row.failed(run.resolved, data.dataset_id, f"ray: {one_line(exc)}"), None
            record(run, row, valid)

    for group, prep in stages:
        for run in group:
            callbacks.on_run_start(run.resolved)
        if prep.error:
            for run in group:
                record(run, Row.failed(run.resolved, data.dataset_id, prep.error), None)
            continue
        reduction_ref = ray.put(prep.reduction)
        encoding = dataclasses.replace(prep.encoding, vectors=None)  # rows need its seconds and stats, not its vectors
        for run in group:
            pending[task.remote(run, data_ref, reduction_ref, encoding, relay.callbacks(label_of(run.resolved)))] = run
        done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
        relay.drain()
        collect(done)  # stream what already finished while the next stage is prepared
    while pending:
        collect(relay.wait(ray, list(pending)))
    relay.drain()
