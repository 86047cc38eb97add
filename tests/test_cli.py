"""The quickstart path end to end, through the real CLI and the installed entry points."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mmbench(*args, home, check=True):
    env = {**os.environ, "MMBENCH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "mmbench.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli_home")
    committed = {p.name: p.read_bytes() for p in (ROOT / "leaderboards").glob("*.*")}
    args = ["run", "configs/quickstart.yaml", "--set", "dataset.scale=tiny", "--set", "reducer.dim=16",
            "--set", "train.epochs=2", "--set", "train.batch_size=256"]  # the default leaderboard folder
    first = mmbench(*args, home=home)
    second = mmbench(*args, home=home)
    assert {p.name: p.read_bytes() for p in (ROOT / "leaderboards").glob("*.*")} == committed
    return home, home / "leaderboards", first, second


def test_quickstart_on_tiny_records_rows(tiny_run):
    """Rows go to $MMBENCH_HOME/leaderboards by default: the repository's committed boards stay untouched."""
    home, lb, first, second = tiny_run
    rows = list(csv.DictReader(open(lb / "microlens_1m_synth-w2-tiny-s0.csv")))
    assert len(rows) == 2
    oracle = json.loads((home / "data" / "microlens_1m_synth-w2-tiny-s0" / "oracle.json").read_text())["valid_auc"]
    for row in rows:
        assert (row["encoder"], row["reducer"], row["model"], row["status"]) == ("text", "pca", "attention_dnn", "ok")
        assert float(row["oracle_auc"]) == pytest.approx(oracle, abs=1e-6)
        assert 0.5 < float(row["valid_auc"]) <= 1.0
    assert rows[0]["valid_auc"] == rows[1]["valid_auc"]  # same config + seed on CPU → same AUC
    assert rows[0]["config_hash"] == rows[1]["config_hash"]
    assert (lb / "microlens_1m_synth-w2-tiny-s0.md").exists()


def test_second_run_hits_the_embedding_cache(tiny_run):
    _, _, first, second = tiny_run
    assert "(cache hit)" not in first.stdout
    assert "(cache hit)" in second.stdout


def test_unknown_encoder_is_one_clear_line(tmp_path):
    proc = mmbench("run", "configs/quickstart.yaml", "--set", "encoder.name=clipp", "--leaderboard-dir", str(tmp_path),
                   home=tmp_path, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "unknown encoder 'clipp'" in proc.stderr
    assert not list(tmp_path.glob("*.csv"))


def test_optional_libraries_are_imported_only_when_asked(tmp_path):
    """Optuna (tune), MLflow (track), Ray (executor: ray) and selenium (tests) stay out of a process that
    builds every command's parser, loads every plugin, lists them and renders a leaderboard (in a fresh
    interpreter: other tests import them here)."""
    script = ("import contextlib, io, sys\nfrom mmbench.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              f"    assert main(['plugins']) == 0\n"
              f"    assert main(['leaderboard', '--leaderboard-dir', {str(ROOT / 'leaderboards')!r}, '--format', 'md']) == 0\n"
              "print(sorted(m for m in ('optuna', 'mlflow', 'ray', 'selenium') if m in sys.modules))\n")
    env = {k: v for k, v in os.environ.items() if k != "MMBENCH_TRACK"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**env, "MMBENCH_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
