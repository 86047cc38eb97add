"""SIGTERM (Slurm, ``docker stop``, Kubernetes) stops a command as Ctrl-C does: one ``interrupted:``
line, exit 143, nothing partial left; what a killed run left behind is cleaned by the next one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import fuzz_cases as fz
from mmbench.files import atomic
from mmbench import cli
from mmbench.files import interrupts
from mmbench.leaderboard import store

DATASET = "microlens_1m"


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _temp_files(*folders: Path) -> set[Path]:
    return {p for folder in folders for p in folder.rglob("*") if p.name.startswith(".") and
            (p.name.endswith((".tmp", ".partial", ".old")) or p.name.startswith(".mmbench-probe-"))}


def test_sigterm_is_ctrl_c_with_its_own_exit_code(monkeypatch, capsys):
    def stopped(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(cli, "build_parser", lambda: _parser(stopped))
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["x"]) == 143
    finally:
        signal.signal(signal.SIGTERM, before)
    assert capsys.readouterr().err.strip() == "interrupted: stopped by SIGTERM; nothing partial was written"
    assert interrupts.describe(KeyboardInterrupt()) == ("stopped by Ctrl-C", 130)


def _parser(func):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("x")
    parser.set_defaults(func=func)
    return parser


def test_leftovers_of_dead_writers_are_removed_and_no_others(tmp_path):
    dead, host = _dead_pid(), atomic.writer_tag().rsplit("-", 1)[0]
    target = tmp_path / "board.csv"
    mine = tmp_path / f".board.csv.{atomic.writer_tag()}.abc.tmp"  # this (live) process's
    stale = tmp_path / f".board.csv.{host}-{dead}.abc.tmp"
    other_host = tmp_path / f".board.csv.elsewhere-{dead}.abc.tmp"  # a shared disk: maybe alive there
    other_file = tmp_path / f".notes.csv.{host}-{dead}.abc.tmp"
    stale_dir = tmp_path / f".cache-entry.{host}-{dead}.xyz.tmp"
    for p in (mine, stale, other_host, other_file):
        p.write_text("half")
    stale_dir.mkdir()
    atomic.atomic_write_text(target, "whole")  # the next writer of board.csv removes its dead leftovers
    assert not stale.exists() and mine.exists() and other_host.exists() and other_file.exists()
    assert set(atomic.clean_leftovers(tmp_path)) == {other_file, stale_dir}
    assert not other_file.exists() and not stale_dir.exists() and mine.exists() and other_host.exists()
    assert target.read_text() == "whole"


@pytest.fixture
def config(tmp_path, tiny_root) -> Path:
    raw = fz.base_config()
    raw["dataset"]["data_root"] = str(tiny_root)
    raw["train"].update(epochs=1000, patience=1000)  # still training when the signal comes
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_sigterm_during_training(tmp_path, config):
    """``mmbench run`` on the tiny data, stopped by SIGTERM after its first epoch: the line, exit 143,
    no row, no temp file; leftovers of a dead run there before it are gone; a rerun records its row."""
    lb, home = tmp_path / "lb", tmp_path / "home"
    dead, tag = _dead_pid(), atomic.writer_tag().rsplit("-", 1)[0]
    store.append_row(lb, fz_row())
    leftovers = [lb / f".{DATASET}.csv.{tag}-{dead}.k1ll3d_x.tmp", lb / f".{DATASET}.md.{tag}-{dead}.k1ll3d_y.tmp"]
    for p in leftovers:
        p.write_text("half a file")
    before = store.csv_path(lb, DATASET).read_bytes()
    env = {**os.environ, "MMBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mmbench.cli", "run", str(config), "--leaderboard-dir", str(lb)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            if " epoch 1:" in line or time.monotonic() > deadline:  # a log line: "<date> <time> epoch 1: ..."
                break
        assert " epoch 1:" in line, line
        assert not any(p.exists() for p in leftovers)  # cleaned when the run checked its targets
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "interrupted: stopped by SIGTERM; nothing partial was written"
    assert "Traceback" not in err
    assert store.csv_path(lb, DATASET).read_bytes() == before
    assert not _temp_files(lb, home)
    assert not (home / "runs").exists() or not any((home / "runs").rglob("model.pt"))

    rerun = subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(config), "--leaderboard-dir", str(lb),
                            "--set", "train.epochs=1"], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert len(store.read_rows(store.csv_path(lb, DATASET))) == 2
    assert not _temp_files(lb, home)


def fz_row():
    from mmbench.run.row import Row

    return Row(dataset=DATASET, encoder="random", reducer="pca", model="din", seed=1, valid_auc=0.6,
               config_hash="a" * 12)
