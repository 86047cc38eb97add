"""Who hears about a run as it happens: the CLI's progress display and the plugins' tracking hooks.

``Callbacks`` are the trainer's epoch and step events (``EpochLog`` per epoch); they live here, not in
trainer.py, so that a command's display can be defined without importing torch.
``RunCallbacks`` adds a run's start and end to the trainer's epoch and step events. ``PluginHooks``
hands them to the trackers a run asks for and to the ``on_run_start`` / ``on_epoch_end`` / ``on_run_end``
hooks of every installed plugin; ``EventCallbacks`` puts them on the command's event stream
(batches as progress, one event per epoch); ``CallbackList`` hands each event to several listeners.
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
    """A run's events to the plugins: the trackers the run asks for (``train.track`` / ``MMBENCH_TRACK``:
    one ``Tracker`` per run, made by the registry at its start and dropped at its end) and the listener
    hooks (``on_run_start`` / ``on_epoch_end`` / ``on_run_end``) of every installed plugin. One instance
    serves all the runs of a command, several at once on Ray."""

    def __init__(self, registry):
        self.registry, self.hook = registry, registry.pm.hook
        self.run = None
        self.trackers: dict[int, list] = {}  # id(run) -> the trackers of a run between its start and end

    def on_run_start(self, run) -> None:
        from ..contract.tracking import requested

        self.run = run
        trackers = self.trackers[id(run)] = []
        # a name no Tracker is registered under belongs to an older plugin's own hooks (tracker_names)
        for name in sorted(requested(run) & set(self.registry.names("tracker"))):
            tracker = self.registry.create("tracker", name)
            tracker.start(run)
            trackers.append(tracker)
        self.hook.on_run_start(run=run)

    def on_epoch_end(self, log: EpochLog) -> None:
        for tracker in self.trackers.get(id(self.run), ()):
            tracker.epoch(log)
        self.hook.on_epoch_end(run=self.run, log=log)

    def on_run_end(self, run, row, valid) -> None:
        for tracker in self.trackers.pop(id(run), ()):
            tracker.end(row, valid)
        self.hook.on_run_end(run=run, row=row, valid=valid)


class EventCallbacks(RunCallbacks):
    """A run's batches and epochs on an ``events.Events`` stream. ``labelled``: name each epoch by its
    run (config hash and components), for the many runs of a sweep; ``epochs=False``: batches only
    (a search writes its epochs itself, named by trial)."""

    def __init__(self, events, labelled: bool = False, epochs: bool = True):
        self.events, self.labelled, self.epochs, self.label, self.task = events, labelled, epochs, "", None

    def on_run_start(self, run) -> None:
        if self.labelled:
            self.label = label_of(run)

    def on_epoch_start(self, epoch: int, n_steps: int) -> None:
        self._close()
        what = f"{self.label} train epoch {epoch}" if self.label else f"train epoch {epoch}"
        self.task = self.events.task(what, n_steps, loss="")

    def on_optimizer_step(self, epoch: int, step: int) -> None:
        if self.task is not None:
            self.task.update(completed=step)

    def on_step(self, epoch: int, step: int, loss: float) -> None:
        if self.task is not None:  # every 20 batches: shown with the next progress
            self.task.fields["loss"] = f"loss {loss:.4f}"

    def on_epoch_end(self, log: EpochLog) -> None:
        self._close()
        if self.epochs:
            self.events.epoch(log, run=self.label)

    def on_run_end(self, run, row, valid) -> None:
        self._close()

    def _close(self) -> None:
        if self.task is not None:
            self.task.close()
            self.task = None


def label_of(run) -> str:
    """``<config hash> <encoder>/<reducer>/<model> seed <n>``: a run's name on its lines."""
    return (f"{run.config_hash()} {run.encoder.name}/{run.reducer.name}/{run.model.name} "
            f"seed {run.train.seed}")


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
