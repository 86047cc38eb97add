"""The one Ray executor: runs go out as Ray tasks, their epochs and results come back to the driver.

Sweeps (each planned run) and searches (each trial) both submit through a ``RayPool``: it starts Ray
(``address`` / ``runtime_env`` / ``num_cpus`` / ``num_gpus`` from the route's ``ray:`` section), puts
shared values into the object store once, relays each task's epochs to ``on_epoch(label, log)`` while the
driver waits, and hands back every finished task as ``(key, result, error)``: a worker that died (out of
memory, node lost) is an error line, never an exception in the driver, which alone writes the leaderboard.
Ray is imported only when a pool is made.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from ..errors import MMBenchError, one_line
from ..files.interrupts import handle_sigterm
from ..output import liblog
from .relay import EpochRelay


def start_ray(options, address: str | None):
    """``ray``, initialised once per process with the route's options."""
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
    return ray


class RayPool:
    """Tasks of one function; ``fn(*args, callbacks)`` runs on a worker, ``callbacks`` relaying its epochs."""

    def __init__(self, fn: Callable, options, address: str | None, on_epoch: Callable | None):
        self.ray = start_ray(options, address)
        self._task = self.ray.remote(fn).options(num_cpus=options.num_cpus, num_gpus=options.num_gpus,
                                                 max_retries=0)
        self._relay = EpochRelay(on_epoch)
        self._pending: dict = {}

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, value) -> Any:
        return self.ray.put(value)

    def submit(self, key, label: str, *args) -> None:
        """One task, ``fn(*args, callbacks)``; ``key`` comes back with its result, ``label`` names its epochs."""
        self._pending[self._task.remote(*args, self._relay.callbacks(label))] = key

    def finished(self, wait: bool = True) -> Iterator[tuple[Any, Any, str | None]]:
        """The tasks that have ended as ``(key, result, error)``: with ``wait``, at least one (relaying
        epochs meanwhile); without, only those already done."""
        if not self._pending:
            self._relay.drain()
            return
        if wait:
            refs = self._relay.wait(self.ray, list(self._pending))
        else:
            refs, _ = self.ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0)
            self._relay.drain()
        for ref in refs:
            key = self._pending.pop(ref)
            try:
                yield key, self.ray.get(ref), None
            except Exception as exc:  # the worker died (OOM, node lost): that task failed
                yield key, None, f"ray: {one_line(exc)}"

    def close(self) -> None:
        """Every epoch still queued, to ``on_epoch``."""
        self._relay.drain()
