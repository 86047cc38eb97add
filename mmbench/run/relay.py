"""Epochs of Ray workers, back to the driver's event stream as they end (sweeps and searches on Ray).

A task gets ``EpochRelay.callbacks(label)``: its epochs go into a Ray queue, which the driver drains
into ``on_epoch(label, log)`` while it waits for results. Ray is imported only when a relay is made.
"""
from __future__ import annotations

from typing import Callable

from .callbacks import RunCallbacks


class RelayedEpochs(RunCallbacks):
    """On a worker: each epoch's log into the driver's queue, named by its run."""

    def __init__(self, queue, label: str):
        self.queue, self.label = queue, label

    def on_epoch_end(self, log) -> None:
        try:
            self.queue.put_nowait((self.label, log))
        except Exception:  # a full or lost queue costs a log line, never the run
            pass


class EpochRelay:
    """A Ray queue the tasks put their epochs into; the driver drains it into ``on_epoch(label, log)``
    while it waits for results. Used by sweeps and searches on Ray."""

    def __init__(self, on_epoch: Callable | None):
        from ray.util.queue import Queue

        self.on_epoch = on_epoch
        self.queue = Queue(maxsize=10_000) if on_epoch is not None else None

    def callbacks(self, label: str) -> RunCallbacks | None:
        return RelayedEpochs(self.queue, label) if self.queue is not None else None

    def drain(self) -> None:
        if self.queue is None:
            return
        while not self.queue.empty():
            try:
                label, log = self.queue.get_nowait()
            except Exception:
                return
            self.on_epoch(label, log)

    def wait(self, ray, refs: list, poll: float = 1.0) -> list:
        """``ray.wait`` for one of ``refs``, relaying epochs every ``poll`` seconds meanwhile."""
        while True:
            done, _ = ray.wait(refs, num_returns=1, timeout=poll)
            self.drain()
            if done:
                return done
