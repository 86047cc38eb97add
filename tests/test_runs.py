"""Checkpoints, challenge submissions and Ctrl-C: what `mmbench run` leaves on disk and what
`mmbench predict` makes of it."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from sklearn.metrics import roc_auc_score

import mmbench
from mmbench.run import checkpoint
from mmbench import cli
from mmbench.run import config, pipeline
from mmbench.challenge import submission
from mmbench.contract.components import RunContext, TrainableReducer
from mmbench.leaderboard import store
from mmbench.contract.registry import build_registry, new_plugin_manager
from mmbench.run.row import Row
from plugin_dists import EXAMPLE_SRC, install_example_plugin


@pytest.fixture(scope="module")
def shuffled_root(tmp_path_factory):
    """Tiny synthetic data whose test.parquet rows are out of ID order."""
    from mmbench_plugins.datasets.synth.world1 import generate

    root = tmp_path_factory.mktemp("data") / "tiny"
    generate(root, "tiny", 0)
    path = root / "MicroLens_1M_x1" / "test.parquet"
    table = pq.read_table(path)
    pq.write_table(table.take(np.random.default_rng(0).permutation(table.num_rows)), path)
    return root


def write_config(path, root, **train):
    raw = {
        "dataset": {"name": "microlens_1m_synth", "scale": "tiny", "world": 1, "data_root": str(root)},
        "encoder": {"name": "hashed_bow", "dim": 128},
        "reducer": {"name": "pca", "dim": 16},
        "model": {"name": "mean_pool_lr"},
        "train": {"epochs": 2, "device": "cpu", **train},
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def test_run_checkpoint_then_predict_submission(example_site, shuffled_root, tmp_path, capsys):
    cfg = write_config(tmp_path / "cfg.yaml", shuffled_root)
    assert cli.main(["run", str(cfg), "--leaderboard-dir", str(tmp_path / "lb")]) == 0
    (row,) = store.read_rows(tmp_path / "lb" / "microlens_1m_synth-tiny-s0.csv")
    run_dir = checkpoint.runs_root(mmbench.data.mmbench_home()) / row["config_hash"]
    info = checkpoint.read_run(run_dir)
    assert info["config"]["model"]["name"] == "mean_pool_lr" and info["config"]["train"]["epochs"] == 2
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert "proj.weight" in state and not any(k.endswith("table") for k in state)  # buffers come from the cache

    out_dirs = []
    for ref in (row["config_hash"][:6], str(run_dir), str(cfg)):  # hash prefix, run folder, config YAML
        out_dirs.append(tmp_path / f"sub{len(out_dirs)}")
        assert cli.main(["predict", ref, "--split", "test", "--out", str(out_dirs[-1])]) == 0, capsys.readouterr().err
    texts = [(d / "prediction.csv").read_text() for d in out_dirs]
    assert texts[0] == texts[1] == texts[2]

    rows = list(csv.reader(texts[0].splitlines()))
    assert rows[0] == ["ID", "Task2"]
    ids = np.array([int(r[0]) for r in rows[1:]])
    probs = np.array([float(r[1]) for r in rows[1:]])
    n_test = pq.read_metadata(shuffled_root / "MicroLens_1M_x1" / "test.parquet").num_rows
    np.testing.assert_array_equal(ids, np.arange(n_test))
    assert probs.min() >= 0 and probs.max() <= 1
    truth = pq.read_table(shuffled_root / "synth_truth" / "test.parquet").to_pandas().set_index("ID").loc[ids]
    assert roc_auc_score(truth["label"], probs) > 0.6  # rows scored and written back under their own ID
    with zipfile.ZipFile(out_dirs[0] / "prediction.zip") as zf:
        assert zf.namelist() == ["prediction.csv"]
        assert zf.read("prediction.csv").decode() == texts[0]

    # a Task-1 submission comes from the fixed DIN on a Task-1 embedding (`mmbench task1`), not from this run
    assert cli.main(["predict", row["config_hash"], "--task", "1", "--out", str(tmp_path / "t1")]) == 2
    assert "mmbench task1 CONFIG.yaml" in capsys.readouterr().err and not (tmp_path / "t1").exists()


class LinearReducer(TrainableReducer):
    """A learned linear map in front of the model, trained with it."""

    def module(self, in_dim):
        layer = torch.nn.Linear(in_dim, 4)
        layer.out_dim = 4
        return layer


class TrainablePlugin:
    @mmbench.hookimpl
    def register_reducers(self, register):
        register("learned_fake", LinearReducer)


def test_trainable_reducer_weights_round_trip_through_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    import mmbench_example
    from fakes import FakePlugin

    pm = new_plugin_manager()
    for name, plugin in [("fake", FakePlugin()), ("trainable", TrainablePlugin()), ("example", mmbench_example)]:
        pm.register(plugin, name=name)
    registry = build_registry(pm, entry_points=False)
    cfg = config.from_dict({"dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"},
                            "reducer": {"name": "learned_fake"},
                            "model": {"name": "mean_pool_lr"},
                            "train": {"epochs": 1, "batch_size": 512, "device": "cpu"}})
    resolved = pipeline.resolve(cfg, registry)
    ctx = RunContext(home=tmp_path)
    result = pipeline.run(resolved, ctx)
    run_dir = checkpoint.save_run(tmp_path, resolved, result.model, result.row)
    assert "vectors.trainable.weight" in torch.load(run_dir / "model.pt", weights_only=True)

    _, data, model, warnings = submission.load_trained(run_dir, registry, ctx)
    assert warnings == []
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).long() for k, v in data.valid.columns().items()}
    from mmbench.run.trainer import predict

    np.testing.assert_allclose(predict(model, tensors, 4096), predict(result.model.cpu(), tensors, 4096), rtol=1e-6)


def test_ctrl_c_during_training_exits_130_and_writes_nothing(tmp_path, shuffled_root):
    site = install_example_plugin(tmp_path / "site")
    cfg = write_config(tmp_path / "cfg.yaml", shuffled_root, epochs=500, patience=500)
    lb = tmp_path / "lb"
    existing = Row(dataset="microlens_1m_synth-tiny-s0", encoder="earlier", valid_auc=0.7)
    csv_file = store.append_row(lb, existing)
    before = {p.name: p.read_bytes() for p in lb.iterdir()}
    home = tmp_path / "home"
    env = {**os.environ, "MMBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(site), str(EXAMPLE_SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "mmbench.cli", "run", str(cfg), "--leaderboard-dir", str(lb)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            # a job started with `&` by a non-interactive shell ignores SIGINT, and Python
                            # keeps an inherited ignored SIGINT ignored: give the run the default back
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(240, proc.kill)
    watchdog.start()
    seen = []
    try:
        for line in proc.stdout:  # wait until an epoch has finished: training is under way
            seen.append(line)
            if "epoch 1:" in line:
                break
        else:
            pytest.fail(f"the run ended before its first epoch line; stdout tail: {seen[-10:]!r}")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
    finally:
        watchdog.cancel()
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted: stopped by Ctrl-C; nothing partial was written"
    assert {p.name: p.read_bytes() for p in lb.iterdir()} == before  # no row, no temp file
    assert len(store.read_rows(csv_file)) == 1
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
