"""Sweeps: the product, shared stages, resume by config hash (also after SIGKILL), failed rows."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import sweep_fakes
from mmbench.contract.components import RunContext
from mmbench.errors import ConfigError
from mmbench.leaderboard import store
from mmbench.sweep import run_sweep
from mmbench.sweep.plan import expand, from_dict

FAST_TRAIN = {"epochs": 1, "batch_size": 128, "lr": 0.01, "threads": 1, "max_train_rows": 600}


def sweep_dict(**sweep_section):
    return {"dataset": {"name": "fake"}, "train": dict(FAST_TRAIN), "sweep": sweep_section}


@pytest.fixture
def registry():
    return sweep_fakes.make_registry()


def csv_rows(directory: Path) -> list[dict]:
    with open(directory / "fake.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_product_grid_and_dedupe(registry):
    spec = from_dict(sweep_dict(
        encoder=["shipped_fake", "counting_fake"], reducer=["none", "pca", "learned"],
        model=["pool_fake", {"name": "dot_fake"}], seeds=[1, 2], grid={"reducer.dim": [2, 3], "train.lr": [0.01]}))
    combos = expand(spec, registry)
    # reducer.dim applies to pca and learned only: none + 2 x pca + 2 x learned = 5 reducer variants
    assert len(combos) == 2 * 5 * 2 * 2
    assert len({c.config_hash for c in combos}) == len(combos)
    dims = {(c.resolved.reducer.name, getattr(c.resolved.reducer.params, "dim", None)) for c in combos}
    assert dims == {("none", None), ("pca", 2), ("pca", 3), ("learned", 2), ("learned", 3)}


def test_sweep_file_mistakes_name_the_key():
    with pytest.raises(ConfigError, match="did you mean 'seeds'"):
        from_dict(sweep_dict(encoder=["shipped_fake"], reducer=["none"], model=["pool_fake"], seed=[1]))
    with pytest.raises(ConfigError, match="sweep.grid key 'lr'"):
        from_dict(sweep_dict(encoder=["shipped_fake"], reducer=["none"], model=["pool_fake"], grid={"lr": [1]}))
    with pytest.raises(ConfigError, match="a section 'model: {name: ...}' or a list 'sweep.model"):
        from_dict(sweep_dict(encoder=["shipped_fake"], reducer=["none"]))


def test_stages_run_once_resume_skips_and_failures_become_rows(registry, tmp_path, capsys):
    spec = from_dict(sweep_dict(
        encoder=["shipped_fake", "counting_fake"], reducer=["none", {"name": "pca", "dim": 3}, {"name": "learned", "dim": 3}],
        model=["pool_fake", "broken_fake"], seeds=[1, 2]))
    lb = tmp_path / "lb"
    sweep_fakes.CountingEncoder.calls = 0
    report = run_sweep(spec, registry, lb, ctx=RunContext())
    assert (report.planned, report.ran, report.failed) == (24, 24, 12)
    assert sweep_fakes.CountingEncoder.calls == 1  # one encoding for its 12 combinations
    stages = [e.meta["inputs"]["stage"] for e in RunContext().cache.entries()]
    assert sorted(stages) == ["encode"] * 2 + ["reduce"] * 4  # (none, pca) x 2 encoders; learned trains in-model
    rows = csv_rows(lb)
    assert len(rows) == 24 and len({r["config_hash"] for r in rows}) == 24
    broken = [r for r in rows if r["model"] == "broken_fake"]
    assert {r["status"] for r in broken} == {"failed"}
    assert broken[0]["error"].startswith("model 'broken_fake' (registered in-process) failed in training: "
                                         "RuntimeError: broken_fake always fails (a bug in the plugin")
    assert "second line" not in broken[0]["error"]  # first line only
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 12 and all(0.5 < float(r["valid_auc"]) <= 1 for r in ok)
    assert all((lb / "fake" / "preds" / f"{r['config_hash']}.npy").exists() for r in ok)

    again = run_sweep(spec, registry, lb, ctx=RunContext())
    assert (again.skipped, again.ran) == (24, 0) and sweep_fakes.CountingEncoder.calls == 1
    retried = run_sweep(spec, registry, lb, ctx=RunContext(), retry_failed=True)
    assert (retried.skipped, retried.ran, retried.failed) == (12, 12, 12)
    assert len(csv_rows(lb)) == 24  # failed rows were replaced, not duplicated

    capsys.readouterr()
    run_sweep(spec, registry, tmp_path / "other_lb", ctx=RunContext(), dry_run=True)
    plan = capsys.readouterr().out
    assert "24 combinations, 0 already recorded, 24 to run" in plan
    assert "encoder counting_fake {}: embeddings cached" in plan
    assert "trainable (trained inside each model)" in plan
    assert not (tmp_path / "other_lb").exists()


def test_sigkill_midway_then_resume_records_each_combination_once(tmp_path):
    """3 encoders x 3 reducers x 2 models x 2 seeds; killed with SIGKILL after the first rows, restarted."""
    config = sweep_dict(
        encoder=["shipped_fake", "counting_fake", "random_fake"],
        reducer=["none", {"name": "pca", "dim": 3}, {"name": "learned", "dim": 3}],
        model=["pool_fake", "dot_fake"], seeds=[1, 2])
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    lb, home = tmp_path / "lb", tmp_path / "home"
    cmd = [sys.executable, str(Path(sweep_fakes.__file__)), str(path), str(lb), str(home)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (lb / "fake.csv").exists() and len(store.read_rows(lb / "fake.csv")) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = csv_rows(lb)
    assert 3 <= len(first) < 36, "the kill must land midway"
    assert len({r["config_hash"] for r in first}) == len(first)

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = csv_rows(lb)
    assert len(rows) == 36 and len({r["config_hash"] for r in rows}) == 36
    assert all(r["status"] == "ok" and 0 <= float(r["valid_auc"]) <= 1 for r in rows)
    assert {r["config_hash"] for r in first} <= {r["config_hash"] for r in rows}
    # the kept rows are the first run's, untouched
    by_hash = {r["config_hash"]: r for r in rows}
    assert all(by_hash[r["config_hash"]]["timestamp"] == r["timestamp"] for r in first)
    assert (lb / "fake.md").exists() and (lb / "fake.png").exists()
