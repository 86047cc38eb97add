"""Where a sweep's models train: in this process (``local``) or as Ray tasks (``ray``). Both take the
prepared stages and hand each outcome to ``record`` (the driver alone writes the leaderboard).

Ray is imported only when the Ray executor runs: the driver loads the data and prepares each
(encoder, reducer) stage, puts the data once and each stage's reduction once into the object store,
and submits one task per run with ``num_cpus`` / ``num_gpus``; rows stream back as tasks finish, and
each epoch of a task comes back as it ends (``run.ray_pool.RayPool``, the one Ray executor, which
searches use too), so the driver's log shows every run's epochs as a local sweep does.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from ..run.callbacks import RunCallbacks, label_of
from ..run.ray_pool import RayPool
from ..run.row import Row
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
    pool = RayPool(_train_task, options, address, on_epoch)
    data_ref = pool.put(data)

    def collect(finished) -> None:
        for run, result, error in finished:
            row, valid = result if error is None else (Row.failed(run.resolved, data.dataset_id, error), None)
            record(run, row, valid)

    for group, prep in stages:
        for run in group:
            callbacks.on_run_start(run.resolved)
        if prep.error:
            for run in group:
                record(run, Row.failed(run.resolved, data.dataset_id, prep.error), None)
            continue
        reduction_ref = pool.put(prep.reduction)
        encoding = dataclasses.replace(prep.encoding, vectors=None)  # rows need its seconds and stats, not its vectors
        for run in group:
            pool.submit(run, label_of(run.resolved), run, data_ref, reduction_ref, encoding)
        collect(pool.finished(wait=False))  # stream what already finished while the next stage is prepared
    while len(pool):
        collect(pool.finished())
    pool.close()
