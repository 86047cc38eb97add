"""One lifecycle on every route: the same config through `mmbench run` (its ``execute``), a sweep and a
search fires the same plugin hooks in the same order, makes one tracker per run on each, and saves the
same files with the same numbers."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mmbench  # noqa: E402
import sweep_fakes  # noqa: E402
from fakes import FakePlugin  # noqa: E402
from mmbench.contract.components import RunContext, Tracker  # noqa: E402
from mmbench.contract.registry import build_registry, new_plugin_manager  # noqa: E402
from mmbench.leaderboard import store  # noqa: E402
from mmbench.run import config as config_mod  # noqa: E402
from mmbench.run import pipeline  # noqa: E402
from mmbench.run.callbacks import CallbackList, PluginHooks  # noqa: E402

CONFIG = {
    "dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"}, "reducer": {"name": "none"},
    "model": {"name": "pool_fake", "hidden": 8},
    "train": {"epochs": 2, "patience": 2, "batch_size": 256, "lr": 0.01, "threads": 1, "seed": 3,
              "track": "recorder"},
}


class RecordingTracker(Tracker):
    made: list = []  # every instance, in the order the runs started

    def start(self, run):
        self.events = [("start", run.config_hash())]
        RecordingTracker.made.append(self)

    def epoch(self, log):
        self.events.append(("epoch", log.epoch))

    def end(self, row, valid):
        self.events.append(("end", row.status, len(valid.probs)))


class Listener:
    """A plugin that only listens, and registers the recording tracker."""

    def __init__(self):
        self.calls: list = []

    @mmbench.hookimpl
    def register_trackers(self, register):
        register("recorder", RecordingTracker)

    @mmbench.hookimpl
    def on_run_start(self, run):
        self.calls.append(("start", run.config_hash()))

    @mmbench.hookimpl
    def on_epoch_end(self, run, log):
        self.calls.append(("epoch", run.config_hash(), log.epoch))

    @mmbench.hookimpl
    def on_run_end(self, run, row, valid):
        self.calls.append(("end", run.config_hash(), row.status))


@pytest.fixture
def routes(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MMBENCH_TRACK", raising=False)
    RecordingTracker.made = []
    from mmbench_plugins.reducers import basic

    listener = Listener()
    pm = new_plugin_manager()
    for plugin in (FakePlugin(), sweep_fakes.SweepFakePlugin(), basic, listener):
        pm.register(plugin)
    return build_registry(pm, entry_points=False), listener


def through_run(registry, board: Path):
    from mmbench.commands.run import execute
    from mmbench.output.events import Events

    resolved = pipeline.resolve(config_mod.from_dict(CONFIG, "run.yaml"), registry)
    execute(resolved, registry, board, Events())
    return resolved.config_hash()


def through_sweep(registry, board: Path):
    from mmbench.sweep import run_sweep
    from mmbench.sweep.plan import from_dict

    spec = from_dict({**CONFIG, "sweep": {"seeds": [3]}}, "sweep.yaml")
    report = run_sweep(spec, registry, board, ctx=RunContext(), callbacks=CallbackList(PluginHooks(registry)),
                       log=lambda line: None)
    assert report.failed == 0 and report.ran == 1


def through_tune(registry, board: Path, tmp_path: Path):
    from mmbench.tuning import spec as tune_spec
    from mmbench.tuning.run import run_tune

    raw = {**CONFIG, "tune": {"study": "routes", "trials": 1, "seed": 0, "storage": f"sqlite:///{tmp_path / 's.db'}",
                              "space": {"train.lr": [0.01]}, "pruner": {"name": "none"}}}
    report = run_tune(tune_spec.from_dict(raw, registry, "search.yaml"), registry, board, ctx=RunContext(),
                      callbacks=CallbackList(PluginHooks(registry)))
    assert [t.state for t in report.trials] == ["complete"]


def test_run_sweep_and_tune_fire_the_same_hooks_and_save_the_same_files(routes, tmp_path):
    registry, listener = routes
    boards = {name: tmp_path / name for name in ("run", "sweep", "tune")}
    h = through_run(registry, boards["run"])
    through_sweep(registry, boards["sweep"])
    through_tune(registry, boards["tune"], tmp_path)

    one_run = [("start", h), ("epoch", h, 1), ("epoch", h, 2), ("end", h, "ok")]
    assert listener.calls == one_run * 3
    assert [t.events for t in RecordingTracker.made] == [
        [("start", h), ("epoch", 1), ("epoch", 2), ("end", "ok", t.events[-1][2])] for t in RecordingTracker.made]
    assert len(RecordingTracker.made) == 3 and len({id(t) for t in RecordingTracker.made}) == 3  # one per run

    rows = {name: store.read_rows(board / "fake.csv") for name, board in boards.items()}
    assert {name: [r["config_hash"] for r in got] for name, got in rows.items()} == {n: [h] for n in boards}
    assert len({r[0]["valid_auc"] for r in rows.values()}) == 1  # the same number on every route
    files = {name: sorted(p.name for p in (board / "fake" / "preds").iterdir()) for name, board in boards.items()}
    assert files["run"] == files["sweep"] == files["tune"] and f"{h}.npy" in files["run"]
    for name in files["run"]:
        arrays = [np.load(boards[route] / "fake" / "preds" / name) for route in boards]
        assert all(np.array_equal(arrays[0], a) for a in arrays[1:]), name
