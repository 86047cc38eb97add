"""``mlflow`` tracker: each tracked run becomes an MLflow run.

Turned on per run by ``train.track: mlflow`` or for every run by ``MMBENCH_TRACK=mlflow``. Logs the
resolved config (as parameters and as ``config.json``), each epoch's train loss and valid metrics
(``epoch_train_loss``, ``epoch_valid_auc``, ... with step = epoch), the final metrics and costs of the leaderboard row, the valid predictions
(``valid_predictions.npz``: probs and labels in valid row order) and a learning-curve chart. Where:
``MLFLOW_TRACKING_URI`` if set (a server ``http://host:5000``, ``sqlite:///...``, ...), else a local
store in ``./mlruns`` (``sqlite:///mlruns/mlflow.db``, artifacts in ``mlruns/artifacts``; browse it
with ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db``). The experiment is
``MLFLOW_EXPERIMENT_NAME`` or ``mmbench``. MLflow is imported only when a run is tracked
(``pip install 'mmbench[track]'``).
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

import mmbench
from mmbench.errors import MMBenchError, one_line, short
from mmbench.output import liblog
from mmbench.output.failures import causes, describe_os_error
from mmbench.plugin import Tracker, flat_params, learning_curve

MMBENCH_API_VERSION = 2
NAME = "mlflow"
#: the leaderboard row's numbers logged as the run's final metrics
FINAL_METRICS = ("valid_auc", "valid_logloss", "valid_gauc", "best_epoch", "epochs", "encode_seconds",
                 "train_seconds", "samples_per_second", "params", "oracle_auc", "train_samples_per_second",
                 "encode_items_per_second", "peak_memory_mb")


#: seconds to wait for a tracking server to accept a connection before saying it cannot be reached
TIMEOUT_VAR = "MMBENCH_TRACKING_TIMEOUT"
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_FIX = "fix MLFLOW_TRACKING_URI, or unset it to track into ./mlruns"


def check_reachable(uri: str) -> None:
    """A tracking server (http/https) must accept a TCP connection within ``$MMBENCH_TRACKING_TIMEOUT``
    seconds (default 5): MLflow itself retries for minutes before it fails. Behind a proxy the direct
    attempt proves nothing, so it is skipped."""
    url = urlparse(uri)
    if url.scheme not in ("http", "https") or any(os.environ.get(v) for v in _PROXY_VARS):
        return
    try:
        timeout = float(os.environ.get(TIMEOUT_VAR) or 5)
    except ValueError:
        raise MMBenchError(f"{TIMEOUT_VAR}={os.environ[TIMEOUT_VAR]!r}: give a number of seconds") from None
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except socket.timeout:
        why = f"no answer within {timeout:g} s"
    except socket.gaierror as exc:
        why = f"unknown host {url.hostname!r} ({exc.strerror})"
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
    else:
        return
    raise MMBenchError(f"MLflow tracking URI {short(uri, 200)}: the tracking server cannot be reached ({why}); "
                       f"start it or {_FIX} ({TIMEOUT_VAR} sets the wait)")


def _client():
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MMBenchError("train.track: mlflow needs MLflow: pip install 'mmbench[track]'") from None
    liblog.route("mlflow")  # its INFO lines (creating tables, ...) stay out of a run's stderr
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    artifacts = None
    if not uri:
        root = Path("mlruns").resolve()
        root.mkdir(exist_ok=True)
        uri, artifacts = f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()
    check_reachable(uri)
    # later calls: a server that goes away mid-run fails in seconds, not after MLflow's default retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    return MlflowClient, artifacts, uri


def _connect():
    """(client, experiment id): a tracking URI that cannot be used is one line naming it and why."""
    make_client, artifacts, uri = _client()
    try:
        client = make_client(tracking_uri=uri)
        return client, _experiment(client, artifacts)
    except MMBenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow wraps store failures in its own exception types
        cause = next((e for e in causes(exc) if isinstance(e, OSError)), None)
        why = describe_os_error(cause) if cause is not None else one_line(exc)
        raise MMBenchError(f"MLflow tracking URI {short(uri, 200)}: {short(why, 400)}; {_FIX}") from exc



def _experiment(client, artifacts: str | None) -> str:
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "mmbench")
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except Exception:  # another process created it meanwhile
        return client.get_experiment_by_name(name).experiment_id


def _row_dict(row) -> dict:
    return row.as_dict() if hasattr(row, "as_dict") else dict(row)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


class MLflowTracker(Tracker):
    """One tracked mmbench run as one MLflow run: its client, run id and epochs live on the instance."""

    def start(self, run) -> None:
        from mlflow.entities import Param

        self.client, experiment = _connect()
        config = run.as_dict()
        names = [config[s]["name"] for s in ("encoder", "reducer", "model")]
        started = self.client.create_run(
            experiment, run_name=f"{'/'.join(names)} seed={run.train.seed}",
            tags={"mmbench.config_hash": run.config_hash(), "mmbench.encoder": names[0],
                  "mmbench.reducer": names[1], "mmbench.model": names[2], "mmbench.version": mmbench.__version__})
        self.run_id, self.history = started.info.run_id, []
        params = [Param(k, str(v)[:6000]) for k, v in sorted(flat_params(config).items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per call
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        self.client.log_dict(self.run_id, config, "config.json")

    def epoch(self, log) -> None:
        from mlflow.entities import Metric

        self.history.append(log)
        now = int(time.time() * 1000)
        # per-epoch series under epoch_*: the unprefixed names hold the row's (restored best epoch) values
        values = {"epoch_train_loss": log.train_loss, "epoch_seconds": log.seconds,
                  **{f"epoch_valid_{k}": v for k, v in log.valid.items()}}
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, log.epoch) for k, v in values.items()
                                                    if _number(v) is not None])

    def end(self, row, valid) -> None:
        from mlflow.entities import Metric

        client, run_id, history = self.client, self.run_id, self.history
        values = _row_dict(row)
        ok = values.get("status", "ok") in ("ok", "")
        try:
            now = int(time.time() * 1000)
            metrics = [Metric(k, _number(values[k]), now, 0) for k in FINAL_METRICS
                       if k in values and _number(values[k]) is not None]
            client.log_batch(run_id, metrics=metrics)
            for key in ("dataset", "device", "device_name", "status", "error", "git_sha"):
                if values.get(key):
                    client.set_tag(run_id, f"mmbench.{key}", str(values[key])[:5000])
            client.log_dict(run_id, {k: v for k, v in values.items() if k != "config"}, "row.json")
            with tempfile.TemporaryDirectory() as tmp:
                if valid is not None:
                    path = Path(tmp) / "valid_predictions.npz"
                    np.savez_compressed(path, probs=np.asarray(valid.probs, dtype=np.float32),
                                        labels=np.asarray(valid.labels))
                    client.log_artifact(run_id, str(path))
                if history:
                    title = f"{values.get('encoder')}/{values.get('reducer')}/{values.get('model')} " \
                            f"seed={values.get('seed')}"
                    client.log_artifact(run_id, str(learning_curve(history, Path(tmp) / "learning_curve.png",
                                                                    title)))
        finally:
            client.set_terminated(run_id, "FINISHED" if ok else "FAILED")


@mmbench.hookimpl
def register_trackers(register):
    register(NAME, MLflowTracker, description="each tracked run as an MLflow run (pip install 'mmbench[track]')")
