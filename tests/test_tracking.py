"""Experiment tracking: the MLflow tracker plugin logs a run to a local store and to a real
``mlflow server``; what it logs equals the leaderboard row; off by default, MLflow not even imported."""
from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import sweep_fakes
from mmbench.run import config as config_mod
from mmbench.run import pipeline
from mmbench.run.callbacks import PluginHooks
from mmbench.contract.components import RunContext
from mmbench.leaderboard import store

# a mark, not importorskip: importing this module must not import mlflow (the first test checks that)
needs_mlflow = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None,
                                  reason="MLflow is not installed (pip install 'mmbench[track]')")

CONFIG = {"dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"}, "reducer": {"name": "none"},
          "model": {"name": "pool_fake"}, "train": {"epochs": 3, "patience": 3, "batch_size": 256, "threads": 1}}


def make_registry():
    """The test fakes, the basic reducers and the MLflow tracker plugin."""
    from mmbench.contract.registry import build_registry, new_plugin_manager
    from mmbench_plugins.reducers import basic
    from mmbench_plugins.trackers import mlflow_tracker

    pm = new_plugin_manager()
    for plugin in (sweep_fakes.FakePlugin(), sweep_fakes.SweepFakePlugin(), basic, mlflow_tracker):
        pm.register(plugin)
    return build_registry(pm, entry_points=False)


@pytest.fixture
def registry():
    return make_registry()


def run_and_record(registry, tmp_path, **train):
    raw = {**CONFIG, "train": {**CONFIG["train"], **train}}
    resolved = pipeline.resolve(config_mod.from_dict(raw), registry)
    result = pipeline.run(resolved, RunContext(home=tmp_path / "home"), PluginHooks(registry))
    store.append_row(tmp_path / "lb", result.row, result.valid)
    (row,) = store.read_rows(tmp_path / "lb" / "fake.csv")
    return resolved, result, row


def the_run(uri: str, config_hash: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "mmbench"]
    (run,) = client.search_runs([experiment.experiment_id], f"tags.`mmbench.config_hash` = '{config_hash}'")
    return client, run


def check_logged(client, run, result, row: dict) -> None:
    """What MLflow holds equals the leaderboard row (as the CSV stores it) and the run's history."""
    assert run.info.status == "FINISHED"
    for key in ("valid_auc", "valid_logloss", "valid_gauc", "best_epoch", "epochs", "train_seconds",
                "samples_per_second", "params", "peak_memory_mb"):
        assert run.data.metrics[key] == pytest.approx(float(row[key]), rel=1e-6, abs=1e-6), key
    assert run.data.tags["mmbench.device_name"] == row["device_name"]
    assert run.data.params["model.name"] == "pool_fake" and run.data.params["train.epochs"] == "3"
    history = client.get_metric_history(run.info.run_id, "epoch_valid_auc")
    assert [m.step for m in history] == [log.epoch for log in result.result.history]
    assert [m.value for m in history] == pytest.approx([log.valid["auc"] for log in result.result.history])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"config.json", "row.json", "valid_predictions.npz", "learning_curve.png"}
    local = client.download_artifacts(run.info.run_id, "valid_predictions.npz")
    saved = np.load(Path(store.preds_dir(Path(row["_lb"]), "fake")) / f"{row['config_hash']}.npy")
    with np.load(local) as npz:
        assert np.array_equal(npz["probs"], saved) and len(npz["labels"]) == len(saved)


def test_off_by_default_and_mlflow_is_not_imported(tmp_path):
    # in a fresh interpreter: here, other tests have imported mlflow already
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from pathlib import Path; "
              f"import test_tracking as t; t.run_and_record(t.make_registry(), Path({str(tmp_path)!r})); "
              f"assert 'mlflow' not in sys.modules, 'mlflow was imported for an untracked run'")
    env = {k: v for k, v in os.environ.items() if k not in ("MMBENCH_TRACK", "MLFLOW_TRACKING_URI")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "lb" / "fake.csv").exists() and not (tmp_path / "mlruns").exists()


@needs_mlflow
def test_logs_to_the_local_store_in_mlruns_and_equals_the_row(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MMBENCH_TRACK", raising=False)
    resolved, result, row = run_and_record(registry, tmp_path, track="mlflow")
    # tracking is not part of the run's identity
    untracked = pipeline.resolve(config_mod.from_dict(CONFIG), registry)
    assert resolved.config_hash() == untracked.config_hash() == row["config_hash"]
    assert (tmp_path / "mlruns" / "mlflow.db").exists()
    client, run = the_run(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}", row["config_hash"])
    check_logged(client, run, result, {**row, "_lb": str(tmp_path / "lb")})


@needs_mlflow
def test_environment_variable_and_mlflow_file_store(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("MMBENCH_TRACK", "mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "file_store").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    _, result, row = run_and_record(registry, tmp_path)
    client, run = the_run(uri, row["config_hash"])
    check_logged(client, run, result, {**row, "_lb": str(tmp_path / "lb")})


@pytest.fixture
def mlflow_server(tmp_path):
    """A real tracking server on 127.0.0.1 (a free port), stopped after the test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server_artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"mlflow server did not start: {proc.stderr.read()[-2000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@needs_mlflow
def test_logs_to_a_real_mlflow_server(registry, tmp_path, monkeypatch, mlflow_server):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    _, result, row = run_and_record(registry, tmp_path, track=["mlflow"])
    client, run = the_run(mlflow_server, row["config_hash"])
    check_logged(client, run, result, {**row, "_lb": str(tmp_path / "lb")})
    assert not (tmp_path / "mlruns").exists()  # everything went to the server


@pytest.mark.parametrize("track, env, says", [
    ("mlfow", "", "train.track: no tracker 'mlfow' (did you mean 'mlflow'?); installed trackers: mlflow"),
    (["mlflow", "wandb"], "", "train.track: no tracker 'wandb'; installed trackers: mlflow"),
    ("x" * 5000, "", "train.track: no tracker 'xxxx"),
    ("", "mlflow,tensorboard", "environment variable MMBENCH_TRACK: no tracker 'tensorboard'"),
    ("MLflow", "", "train.track: must be a tracker's name, e.g. mlflow, got 'MLflow'"),
    (5, "", "train.track: expected str or list of str, got 5"),
    ([None], "", "train.track: expected str or list of str, got [None]"),
])
def test_a_tracker_nobody_provides_is_refused_before_the_run(registry, monkeypatch, track, env, says):
    monkeypatch.setenv("MMBENCH_TRACK", env)
    raw = {**CONFIG, "train": {**CONFIG["train"], "track": track}}
    with pytest.raises(config_mod.ConfigError) as err:
        pipeline.resolve(config_mod.from_dict(raw), registry)
    message = str(err.value)
    assert says in message and "\n" not in message and len(message) < 400


def test_trackers_are_what_the_plugins_declare(registry):
    from mmbench.contract.registry import build_registry, new_plugin_manager

    assert registry.tracker_names() == ["mlflow"]
    assert build_registry(new_plugin_manager(), entry_points=False).tracker_names() == []


# ---------------------------------------------------------------- a tracking URI that cannot be used


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_mlflow
def test_an_unreachable_tracking_server_is_said_at_once(registry, tmp_path, monkeypatch):
    from mmbench.errors import MMBenchError

    uri = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    start = time.monotonic()
    with pytest.raises(MMBenchError) as info:
        run_and_record(registry, tmp_path, track=["mlflow"])
    assert time.monotonic() - start < 30  # MLflow alone retries for minutes
    assert str(info.value).startswith(f"MLflow tracking URI {uri}: the tracking server cannot be reached "
                                      "(Connection refused); start it or fix MLFLOW_TRACKING_URI")
    assert "disk" not in str(info.value) and not (tmp_path / "lb").exists()


@needs_mlflow
def test_a_silent_tracking_server_waits_the_bounded_timeout(monkeypatch):
    from mmbench.errors import MMBenchError
    from mmbench_plugins.trackers import mlflow_tracker

    waited = []

    def silent(address, timeout):
        waited.append(timeout)
        raise socket.timeout("timed out")

    monkeypatch.setattr(mlflow_tracker.socket, "create_connection", silent)
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MMBENCH_TRACKING_TIMEOUT", "0.5")
    with pytest.raises(MMBenchError, match=r"cannot be reached \(no answer within 0.5 s\)"):
        mlflow_tracker.check_reachable("http://10.255.255.1:5000")
    assert waited == [0.5]
    mlflow_tracker.check_reachable("sqlite:///x.db")  # not a server: nothing to reach


@needs_mlflow
def test_a_tracking_uri_under_a_file_is_said_so(registry, tmp_path, monkeypatch):
    from mmbench.errors import MMBenchError

    (tmp_path / "afile").write_text("x")
    uri = f"sqlite:///{tmp_path / 'afile' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(MMBenchError) as info:
        run_and_record(registry, tmp_path, track=["mlflow"])
    message = str(info.value)
    assert message.startswith(f"MLflow tracking URI {uri}: {tmp_path / 'afile'} is a file where a folder is needed")
    assert "remove" not in message and "\n" not in message


# ------------------------------------------------------------ library log lines in an ordinary run


@needs_mlflow
def test_an_ordinary_tracked_run_prints_no_library_log_lines(tmp_path, tiny_root):
    """Through the real command line, in a fresh process (MLflow configures its logging on import)."""
    import yaml

    config = tmp_path / "tracked.yaml"
    config.write_text(yaml.safe_dump({
        "dataset": {"name": "microlens_1m_synth", "scale": "tiny", "world": 1, "data_root": str(tiny_root)},
        "encoder": {"name": "random", "dim": 8}, "reducer": {"name": "none"},
        "model": {"name": "din", "embedding_dim": 4, "attention_hidden": [8], "dnn_hidden": [8]},
        "train": {"epochs": 1, "device": "cpu", "max_train_rows": 256, "batch_size": 128, "threads": 1,
                  "track": "mlflow"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MMBENCH_"))}
    env["MMBENCH_HOME"] = str(tmp_path / "home")

    def run(cwd: Path, **extra):
        cwd.mkdir(exist_ok=True)  # its own ./mlruns: MLflow creates (and logs creating) its tables there
        return subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(config), "--leaderboard-dir", "lb"],
                              cwd=cwd, env={**env, **extra}, capture_output=True, text=True, timeout=300)

    quiet = run(tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # MLflow's "Creating initial MLflow database tables..." and the like: gone
    assert (tmp_path / "mlruns" / "mlflow.db").exists()
    loud = run(tmp_path / "debug", MMBENCH_DEBUG="1")  # the libraries' own logging, as they set it
    assert loud.returncode == 0 and "INFO mlflow" in loud.stderr


def test_library_records_at_error_become_one_mmbench_line_and_are_restored(capsys):
    import logging

    from mmbench.output import liblog

    lines = []
    ray_logger = logging.getLogger("ray")
    before = (ray_logger.level, list(ray_logger.handlers), ray_logger.propagate)
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_before = (mlflow_logger.level, list(mlflow_logger.handlers), mlflow_logger.propagate)
    with liblog.routed(lines.append, debug=False):
        logging.getLogger("ray._private.worker").info("Started a local Ray instance.")
        logging.getLogger("optuna.study").warning("Trial 3 failed with value None.")
        ray_logger.handlers.append(logging.StreamHandler())  # importing Ray adds its handler again
        liblog.reapply()
        liblog.route("mlflow")  # what the MLflow tracker does when it imports MLflow
        logging.getLogger("mlflow.store").error("database is locked\nTraceback ...")
    assert lines == ["mlflow: database is locked"]
    assert (ray_logger.level, list(ray_logger.handlers), ray_logger.propagate) == before
    assert (mlflow_logger.level, list(mlflow_logger.handlers), mlflow_logger.propagate) == mlflow_before
    assert capsys.readouterr().err == ""
