"""The README's quick routes (configs/quick/): each command, as written in the README, finishes on the
synthetic tiny data and leaves what it promises. Run in order on one fresh $MMBENCH_HOME, as a user would."""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: six commands, each under a minute on an idle 2-core machine; a shared, loaded one needs more
pytestmark = pytest.mark.timeout(1800)


def quick_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Quick routes", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip().startswith("mmbench ")]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Every quick line run in a fresh home (cwd: a scratch folder holding configs/ as a link)."""
    home = tmp_path_factory.mktemp("quick_home")
    cwd = tmp_path_factory.mktemp("quick_cwd")
    (cwd / "configs").symlink_to(ROOT / "configs")
    env = {**os.environ, "MMBENCH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("MMBENCH_TRACK", None)
    done = {}
    for line in quick_lines():
        args = shlex.split(line)[1:]
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "mmbench.cli", *args], capture_output=True, text=True,
                              env=env, cwd=cwd, timeout=900)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        done[args[0]] = (proc, time.perf_counter() - start)
    return home, cwd, done, env


def test_the_readme_lists_a_quick_route_for_every_command():
    assert [shlex.split(line)[1] for line in quick_lines()] == [
        "run", "predict", "export-embeddings", "sweep", "tune", "task1"]


def _rows(home: Path, board: str) -> list[dict]:
    return list(csv.DictReader(open(home / "leaderboards" / f"{board}.csv")))


def test_each_quick_route_leaves_what_it_promises(quick):
    home, cwd, done, _ = quick
    print({k: round(seconds, 1) for k, (_, seconds) in done.items()})  # wall seconds, with -s
    runs = _rows(home, "microlens_1m_synth-w2-tiny-s0")
    by_study = [r for r in runs if r["study"]]
    assert len(by_study) == 3 and all(r["status"] == "ok" for r in runs)  # tune: its 3 trials
    # the run, and the sweep's pca-32: its pca-16 combination is the run's config, found recorded and skipped
    assert len(runs) - len(by_study) == 2
    assert "1 were already recorded, 1 ran now" in done["sweep"][0].stdout
    assert (cwd / "quick-submission" / "prediction.csv").exists()
    assert (cwd / "quick-item_info.parquet").exists()
    (task1,) = _rows(home, "microlens_1m_synth-w2-tiny-s0-task1")
    config = json.loads(task1["config"])
    assert config["deviations"] == ["train.epochs=1 (fixed: 100)", "train.patience=1 (fixed: 3)",
                                    "train.max_train_rows=2000 (fixed: 0)"]
    assert "a shortened Task-1 training" in " ".join(done["task1"][0].stderr.split())


def test_a_repeated_task1_run_is_skipped_before_any_work(quick):
    home, cwd, _, env = quick
    proc = subprocess.run([sys.executable, "-m", "mmbench.cli", "task1", "configs/quick/task1.yaml"],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert proc.returncode == 0 and "already recorded: config " in proc.stdout
    assert len(_rows(home, "microlens_1m_synth-w2-tiny-s0-task1")) == 1
