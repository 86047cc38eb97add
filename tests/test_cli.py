"""The quickstart path end to end, through the real CLI and the installed entry points."""
import csv
import json
import os
import re
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
    second = mmbench(*args, "--rerun", home=home)
    third = mmbench(*args, home=home)  # the same config once more, without --rerun: skipped
    assert {p.name: p.read_bytes() for p in (ROOT / "leaderboards").glob("*.*")} == committed
    return home, home / "leaderboards", first, second, third


def test_quickstart_on_tiny_records_rows(tiny_run):
    """Rows go to $MMBENCH_HOME/leaderboards by default: the repository's committed boards stay untouched."""
    home, lb, first, second, third = tiny_run
    rows = list(csv.DictReader(open(lb / "microlens_1m_synth-w2-tiny-s0.csv")))
    assert len(rows) == 2
    oracle = json.loads((home / "data" / "microlens_1m_synth-w2-tiny-s0" / "oracle.json").read_text())["valid_auc"]
    for row in rows:
        assert (row["encoder"], row["reducer"], row["model"], row["status"]) == ("text", "pca", "dcn", "ok")
        assert float(row["oracle_auc"]) == pytest.approx(oracle, abs=1e-6)
        assert 0.5 < float(row["valid_auc"]) <= 1.0
    assert rows[0]["valid_auc"] == rows[1]["valid_auc"]  # same config + seed on CPU → same AUC
    assert rows[0]["config_hash"] == rows[1]["config_hash"]
    assert (lb / "microlens_1m_synth-w2-tiny-s0.md").exists()


def test_a_run_on_a_synthetic_world_keeps_its_test_predictions_for_pooled_reports(tiny_run):
    """A synthetic root holds its test labels: the run saves the test split's predictions beside the
    valid ones, and `data coldwarm --split valid+test` pools the two splits' rows."""
    import numpy as np
    import pyarrow.parquet as pq

    from mmbench.run.metrics import auc
    from mmbench.report.coldwarm import score

    home, lb, *_ = tiny_run
    root = home / "data" / "microlens_1m_synth-w2-tiny-s0"
    preds = lb / "microlens_1m_synth-w2-tiny-s0" / "preds"
    row = next(csv.DictReader(open(lb / "microlens_1m_synth-w2-tiny-s0.csv")))
    test_ids = pq.read_table(root / "MicroLens_1M_x1" / "test.parquet", columns=["ID"]).column(0).to_numpy()
    truth = pq.read_table(root / "synth_truth" / "test.parquet").to_pandas().set_index("ID")
    labels, probs = np.load(preds / "test_labels.npy"), np.load(preds / f"{row['config_hash']}.test.npy")
    assert np.array_equal(labels, truth.loc[test_ids, "label"].to_numpy()) and probs.shape == labels.shape
    assert 0.5 < auc(labels, probs) <= 1.0  # the valid-selected weights score unseen test users too
    valid_only, pooled = (score(lb, "microlens_1m_synth-w2-tiny-s0", root, max_train_rows=5, split=s)
                          for s in ("valid", "valid+test"))
    assert pooled["subsets"]["all"]["rows"] == valid_only["subsets"]["all"]["rows"] + len(labels)
    valid_labels = np.load(preds / "valid_labels.npy")
    both = np.concatenate([np.load(preds / f"{row['config_hash']}.npy"), probs])
    assert pooled["combos"][0]["all"]["auc"] == pytest.approx(auc(np.concatenate([valid_labels, labels]), both), abs=1e-9)
    assert pooled["oracle"]["all"] > 0.9  # the truth's probabilities, pooled the same way
    assert pooled["left_out"] == valid_only["left_out"] == []


def test_an_identical_run_is_found_before_training_and_skipped(tiny_run):
    """Same config hash on the same board: one line naming the recorded row's AUC and date, no new row,
    no training; --rerun (the second run) adds the row anyway."""
    _, lb, _, _, third = tiny_run
    rows = list(csv.DictReader(open(lb / "microlens_1m_synth-w2-tiny-s0.csv")))
    assert len(rows) == 2 and third.returncode == 0
    latest = max(rows, key=lambda r: r["timestamp"])
    (line,) = [x for x in third.stdout.splitlines() if x.startswith("already recorded: ")]  # the result line
    assert line.startswith(f"already recorded: config {latest['config_hash']} has a row in ")
    assert f"(valid AUC {float(latest['valid_auc']):.4f}, {latest['timestamp']}); skipped" in third.stdout
    assert "--rerun" in third.stdout and "valid AUC" not in third.stderr
    assert not re.search(r" epoch \d+:", third.stdout) and " train: start" not in third.stdout  # nothing trained


def test_second_run_hits_the_embedding_cache(tiny_run):
    _, _, first, second, _ = tiny_run
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
