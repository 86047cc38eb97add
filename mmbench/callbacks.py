"""Who hears about a run as it happens: the CLI's progress display and the plugins' tracking hooks.

``Callbacks`` are the trainer's epoch and step events (``EpochLog`` per epoch); they live here, not in
trainer.py, so that a command's display can be defined without importing torch.
``RunCallbacks`` adds a run's start and end to the trainer's epoch and step events. ``PluginHooks``
relays them to the ``on_run_start`` / ``on_epoch_end`` / ``on_run_end`` hooks of every installed plugin
(an experiment tracker is such a plugin); ``CallbackList`` hands each event to several listeners.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochLog:
    epoch: int
    train_loss: float
    valid: dict[str, float]
    seconds: float


class Callbacks:
    """Progress hooks; the CLI passes a rich implementation, tests pass nothing."""

    def on_epoch_start(self, epoch: int, n_steps: int) -> None: ...
    def on_step(self, epoch: int, step: int, loss: float) -> None:
        """Every 20 steps and at an epoch's end, with the current loss (a host sync on CUDA)."""

    def on_optimizer_step(self, epoch: int, step: int) -> None:
        """After every batch (and its optimizer step when one is due), without a sync (benchmarks time
        steps through this)."""

    def on_epoch_end(self, log: EpochLog) -> None: ...


class RunCallbacks(Callbacks):
    def on_run_start(self, run) -> None:
        """``run``: the ``pipeline.Resolved`` about to run."""

    def on_data_loaded(self, data) -> None:
        """``data``: the loaded ``MMCTRData`` (its ``dataset_id`` is known now), before any encoding."""

    def on_run_end(self, run, row, valid) -> None:
        """``row``: its ``row.Row`` (ok or failed); ``valid``: ``components.ValidPredictions`` or None."""


class PluginHooks(RunCallbacks):
    """Relays run events to the plugin hooks of ``registry`` (its pluggy ``hook`` relay)."""

    def __init__(self, registry):
        self.hook = registry.pm.hook
        self.run = None

    def on_run_start(self, run) -> None:
        self.run = run
        self.hook.on_run_start(run=run)

    def on_epoch_end(self, log: EpochLog) -> None:
        self.hook.on_epoch_end(run=self.run, log=log)

    def on_run_end(self, run, row, valid) -> None:
        self.hook.on_run_end(run=run, row=row, valid=valid)


class CallbackList(RunCallbacks):
    """Every event to each listener, in order."""

    def __init__(self, *listeners: RunCallbacks | None):
        self.listeners = [cb for cb in listeners if cb is not None]

    def _each(self, method: str, *args) -> None:
        for cb in self.listeners:
            getattr(cb, method)(*args)

    def on_run_start(self, run) -> None:
        self._each("on_run_start", run)

    def on_data_loaded(self, data) -> None:
        self._each("on_data_loaded", data)

    def on_epoch_start(self, epoch: int, n_steps: int) -> None:
        self._each("on_epoch_start", epoch, n_steps)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        self._each("on_step", epoch, step, loss)

    def on_optimizer_step(self, epoch: int, step: int) -> None:
        self._each("on_optimizer_step", epoch, step)

    def on_epoch_end(self, log: EpochLog) -> None:
        self._each("on_epoch_end", log)

    def on_run_end(self, run, row, valid) -> None:
        self._each("on_run_end", run, row, valid)
