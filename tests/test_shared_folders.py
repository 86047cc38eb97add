"""A team's leaderboard folder: other users' files, sticky folders, symlinks, full disks and held locks.

What a run will replace or open is checked before it trains; what it finds only after training (a
lock held too long, a disk that filled up) never loses the finished row: the row is saved under
``$MMBENCH_HOME/pending`` and ``mmbench leaderboard add FILE`` records it later.
"""
from __future__ import annotations

import errno
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

import fuzz_cases as fz
from mmbench.files import atomic
from mmbench import cli
from mmbench.files import locks
from mmbench.contract.components import ValidPredictions
from mmbench.errors import MMBenchError, MMBenchNote
from mmbench.output.failures import describe_failure
from mmbench.leaderboard import pending, store
from mmbench.run.row import Row

DATASET = "microlens_1m"
PEER, TEAM = "mmbench-peer", "mmbench-team"
AS_USER = Path(__file__).with_name("as_user.py")


def _row(seed: int = 1, auc: float = 0.61) -> Row:
    return Row(dataset=DATASET, encoder="random", reducer="pca", model="din", seed=seed, valid_auc=auc,
               config_hash=f"{seed:012x}")


def _valid() -> ValidPredictions:
    return ValidPredictions(np.linspace(0.1, 0.9, 8), np.array([0, 1] * 4))


def _hashes(path: Path) -> list[str]:
    return [r["config_hash"] for r in store.read_rows(path)]


def _cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------------------ the mechanisms, in-process


def test_a_symlinked_csv_is_written_through_to_the_shared_file(tmp_path):
    shared = tmp_path / "shared" / "team.csv"
    store.append_row(shared.parent, _row(1))
    (shared.parent / f"{DATASET}.csv").rename(shared)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / f"{DATASET}.csv").symlink_to(shared)
    store.check_targets(mine, DATASET)
    store.append_row(mine, _row(2), _valid())
    assert (mine / f"{DATASET}.csv").is_symlink()  # still a link, not a local copy
    assert _hashes(shared) == [_row(1).config_hash, _row(2).config_hash]
    assert store.lock_path(mine / f"{DATASET}.csv") == Path(str(shared) + ".lock")  # every linker takes one lock
    assert not [p for p in shared.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_rename_the_folder_refuses_becomes_an_update_in_place(tmp_path, monkeypatch):
    """A sticky folder refuses the rename over another user's file (EPERM): a file the user may write
    gets the new row appended in place, the same inode, owner and mode."""
    store.append_row(tmp_path, _row(1))
    path = store.csv_path(tmp_path, DATASET)
    before, inode = path.read_bytes(), path.stat().st_ino

    def refuse(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted", src, None, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse)
    store.append_row(tmp_path, _row(2))
    assert path.stat().st_ino == inode and path.read_bytes().startswith(before)
    assert _hashes(path) == [_row(1).config_hash, _row(2).config_hash]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(atomic.os, "access", lambda *a, **k: False)  # nor writable: the path is named
    with pytest.raises(PermissionError) as info:
        store.append_row(tmp_path, _row(3))
    assert info.value.filename == str(path)


def test_a_disk_too_small_for_the_rewrite_is_said_before_training(tmp_path, monkeypatch):
    store.append_row(tmp_path, _row(1))
    monkeypatch.setattr(store.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(MMBenchError, match=rf"{tmp_path}.* MiB free; recording a row of {DATASET} rewrites "):
        store.check_targets(tmp_path, DATASET)


def test_a_full_disk_during_a_write_names_the_path(tmp_path):
    target = tmp_path / "board.md"
    with pytest.raises(OSError) as info:
        with atomic.atomic_path(target):
            raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises: no file name
    assert info.value.filename == str(target)
    assert describe_failure(info.value)[0].startswith(f"{target}: No space left on device; free disk space")
    assert os.listdir(tmp_path) == []


def test_a_row_that_cannot_be_written_is_saved_and_added_later(tmp_path, monkeypatch, capsys):
    lb = tmp_path / "lb"
    store.append_row(lb, _row(1))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(store.csv_path(lb, DATASET)))

    with monkeypatch.context() as mp:
        mp.setattr(store, "append_row", full)
        recorded = pending.record_or_keep(lb, _row(2, 0.7), _valid())
    assert not recorded.written and recorded.pending.is_file()
    assert recorded.pending.parent == pending.pending_dir()
    message = recorded.message()
    assert "No space left on device" in message and str(store.csv_path(lb, DATASET)) in message
    assert message.endswith(f"add it with `mmbench leaderboard add {recorded.pending}`")
    assert _hashes(store.csv_path(lb, DATASET)) == [_row(1).config_hash]

    rc, out, err = _cli(capsys, "leaderboard", "add", recorded.pending)
    assert rc == 0, err
    assert f"row added to {store.csv_path(lb, DATASET)}" in out
    rows = store.read_rows(store.csv_path(lb, DATASET))
    assert [r["config_hash"] for r in rows] == [_row(1).config_hash, _row(2).config_hash]
    assert float(rows[1]["valid_auc"]) == 0.7
    saved = np.load(store.preds_dir(lb, DATASET) / f"{_row(2).config_hash}.npy")
    assert np.allclose(saved, _valid().probs)
    assert not recorded.pending.exists() and not recorded.pending.with_suffix(".npz").exists()

    again = pending.save_pending(lb, _row(2, 0.7), None, "test")  # a second add of the same run adds nothing
    rc, out, err = _cli(capsys, "leaderboard", "add", again)
    assert rc == 0 and "already has an ok row of this run; nothing added" in out
    assert len(store.read_rows(store.csv_path(lb, DATASET))) == 2

    (tmp_path / "junk.json").write_text("[1, 2]")
    rc, out, err = _cli(capsys, "leaderboard", "add", tmp_path / "junk.json")
    assert rc == 2 and "is not a row saved by mmbench" in err and "Traceback" not in err


@pytest.mark.parametrize("before", [True, False])
def test_leaderboard_add_records_where_told(tmp_path, capsys, before):
    saved = pending.save_pending(tmp_path / "gone", _row(4), None, "test")
    elsewhere = tmp_path / "elsewhere"
    where = ["--leaderboard-dir", elsewhere]
    rc, out, err = _cli(capsys, "leaderboard", *(where if before else []), "add", saved, *([] if before else where))
    assert rc == 0, err
    assert _hashes(store.csv_path(elsewhere, DATASET)) == [_row(4).config_hash]
    assert not (tmp_path / "gone").exists()


def test_a_lock_held_too_long_says_so_then_keeps_the_row(tmp_path, monkeypatch):
    store.append_row(tmp_path, _row(1))
    monkeypatch.setenv(locks.TIMEOUT_ENV, "0.6")
    monkeypatch.setattr(locks, "SAY_AFTER", 0.2)
    with locks.file_lock(store.lock_path(store.csv_path(tmp_path, DATASET)), "held by the test"):
        with pytest.warns(MMBenchNote, match=r"waiting for the lock .*microlens_1m.csv.lock .*giving up after 0.6 s "
                                             r"\(MMBENCH_LOCK_TIMEOUT\)"):
            recorded = pending.record_or_keep(tmp_path, _row(2))
    assert recorded.pending.is_file() and "MMBENCH_LOCK_TIMEOUT=0.6" in recorded.reason
    assert _hashes(store.csv_path(tmp_path, DATASET)) == [_row(1).config_hash]


def test_a_lock_is_taken_as_soon_as_its_holder_lets_go(tmp_path):
    lock = tmp_path / "x.lock"
    held = threading.Event()

    def hold():
        with locks.file_lock(lock, "x"):
            held.set()
            threading.Event().wait(0.3)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    with locks.file_lock(lock, "x", timeout=5):
        pass
    thread.join()


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_a_bad_lock_timeout_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.setenv(locks.TIMEOUT_ENV, value)
    with pytest.raises(MMBenchError, match=r"MMBENCH_LOCK_TIMEOUT=.* is not a number of seconds >= 0"):
        store.append_row(tmp_path, _row(1))


# ------------------------------------------------------------------------------ a second user, for real


def _peer() -> tuple[int, int]:
    """The second user and the team group (created when missing; we are root)."""
    try:
        grp.getgrnam(TEAM)
    except KeyError:
        subprocess.run(["groupadd", TEAM], check=True)
    try:
        pwd.getpwnam(PEER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-G", TEAM, "-d", "/nonexistent",
                        "-s", "/usr/sbin/nologin", PEER], check=True)
    return pwd.getpwnam(PEER).pw_uid, grp.getgrnam(TEAM).gr_gid


@pytest.fixture(scope="module")
def team(tiny_root):
    """Paths the peer can reach (pytest's temp folders are root-only): a world-readable copy of the
    tiny data, a config, the peer's home."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root (and useradd) to act as a second user")
    uid, gid = _peer()
    base = Path(tempfile.mkdtemp(prefix="mmbench-team-"))
    os.chmod(base, 0o755)
    shutil.copytree(tiny_root, base / "tiny")
    raw = fz.base_config()
    raw["dataset"]["data_root"] = str(base / "tiny")
    (base / "c.yaml").write_text(yaml.safe_dump(raw))
    home = base / "peer-home"
    home.mkdir()
    os.chown(home, uid, -1)
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    yield base, uid, gid
    shutil.rmtree(base, ignore_errors=True)


def _shared_folder(base: Path, name: str, mode: int, gid: int) -> Path:
    """A folder the first user (root) owns and has recorded a row in, shared the way a team shares one:
    the team's group, group-writable files; ``mode`` 1777 or 3775 (setgid + sticky)."""
    folder = base / name
    store.append_row(folder, _row(1))
    store.preds_dir(folder, DATASET).mkdir(parents=True)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, 0, gid)
        os.chmod(path, (0o2775 if path.is_dir() else 0o664))
    os.chmod(folder, mode)
    os.chmod(store.lock_path(store.csv_path(folder, DATASET)), 0o644)  # the lock: the owner's alone
    return folder


def _as_peer(base: Path, *args, env=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "MMBENCH_HOME": str(base / "peer-home"), **(env or {})}
    return subprocess.run([sys.executable, str(AS_USER), PEER, TEAM, *map(str, args)], env=environ,
                          capture_output=True, text=True, timeout=300)


def test_a_second_user_records_in_a_sticky_team_folder(team):
    """The CSV, its lock and the folder belong to the first user; the folder is sticky (1777), so the
    peer may not rename over the CSV: the row is appended in place, under the (read-only) lock."""
    base, uid, gid = team
    folder = _shared_folder(base, "sticky", 0o1777, gid)
    csv_file = store.csv_path(folder, DATASET)
    inode = csv_file.stat().st_ino
    done = _as_peer(base, "run", base / "c.yaml", "--leaderboard-dir", folder)
    assert done.returncode == 0, done.stderr
    assert f"row appended to {csv_file}" in done.stdout
    rows = store.read_rows(csv_file)
    assert len(rows) == 2 and rows[1]["status"] == "ok" and 0 < float(rows[1]["valid_auc"]) < 1
    assert csv_file.stat().st_ino == inode and csv_file.stat().st_uid == 0  # the first user's file, updated
    assert (store.preds_dir(folder, DATASET) / f"{rows[1]['config_hash']}.npy").stat().st_uid == uid, done.stderr
    assert "warning" not in done.stderr
    assert not [p for p in folder.rglob("*.tmp")]


def test_a_second_user_refused_before_training_where_the_csv_is_not_theirs_to_write(team):
    base, uid, gid = team
    folder = _shared_folder(base, "closed", 0o1777, gid)
    os.chmod(store.csv_path(folder, DATASET), 0o644)
    done = _as_peer(base, "run", base / "c.yaml", "--leaderboard-dir", folder)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {store.csv_path(folder, DATASET)} (the rows of {DATASET}) belongs to root and you may neither "
        f"replace it (its folder is sticky or not writable) nor write it; ask the folder's owner to make it "
        f"group-writable, or choose another --leaderboard-dir for {DATASET}")
    assert "epoch" not in done.stdout  # said before any training
    assert len(store.read_rows(store.csv_path(folder, DATASET))) == 1


def test_a_second_users_finished_row_waits_out_a_held_lock_and_is_kept(team, capsys):
    """The first user holds the lock (a long render, a hung process) while the peer's run finishes in
    a setgid + sticky (3775) folder: the peer is told what it waits for, gives up after
    MMBENCH_LOCK_TIMEOUT, and keeps the row; the first user adds it with the printed command."""
    base, uid, gid = team
    folder = _shared_folder(base, "setgid-sticky", 0o3775, gid)
    csv_file = store.csv_path(folder, DATASET)
    with locks.file_lock(store.lock_path(csv_file), "held by the first user"):
        done = _as_peer(base, "run", base / "c.yaml", "--leaderboard-dir", folder, "--set", "train.seed=7",
                        env={locks.TIMEOUT_ENV: "4"})
    assert done.returncode == 2, done.stderr
    assert f"note: waiting for the lock {csv_file}.lock" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the row of run ") and f"was not recorded in {csv_file}" in last
    saved = Path(last.split("mmbench leaderboard add ")[1].rstrip("`"))
    assert saved.is_file() and saved.stat().st_uid == uid and saved.is_relative_to(base / "peer-home")
    assert len(store.read_rows(csv_file)) == 1

    rc, out, err = _cli(capsys, "leaderboard", "add", saved)  # the first user (or the peer) adds it
    assert rc == 0, err
    rows = store.read_rows(csv_file)
    assert len(rows) == 2 and rows[1]["config_hash"] == saved.stem and rows[1]["seed"] == "7"


def test_a_sweep_keeps_each_row_it_cannot_write_and_says_how_to_add_it(tmp_path, monkeypatch, capsys):
    import sweep_fakes
    from mmbench.contract.components import RunContext
    from mmbench.sweep import run_sweep
    from mmbench.sweep.plan import from_dict

    spec = from_dict({"dataset": {"name": "fake"}, "sweep": {"encoder": ["shipped_fake"], "reducer": ["none"],
                      "model": ["pool_fake"], "seeds": [1, 2]},
                      "train": {"epochs": 1, "batch_size": 128, "threads": 1, "max_train_rows": 600}})
    lb, lines = tmp_path / "lb", []
    lb.mkdir()
    monkeypatch.setenv(locks.TIMEOUT_ENV, "0")  # one try: the lock is held for the whole sweep
    with locks.file_lock(store.lock_path(lb / "fake.csv"), "held by the test"):
        report = run_sweep(spec, sweep_fakes.make_registry(), lb, ctx=RunContext(), log=lines.append)
    assert report.ran == 0 and len(report.pending) == 2 and all(p.is_file() for p in report.pending)
    saved = [line for line in lines if "was not recorded in" in line]
    assert len(saved) == 2 and all("add it with `mmbench leaderboard add " in line for line in saved)
    assert not (lb / "fake.csv").exists()
    for file in report.pending:
        rc, out, err = _cli(capsys, "leaderboard", "add", file)
        assert rc == 0, err
    rows = store.read_rows(lb / "fake.csv")
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    again = run_sweep(spec, sweep_fakes.make_registry(), lb, ctx=RunContext(), log=lines.append)
    assert again.skipped == 2 and again.ran == 0  # the added rows count as recorded


def test_a_board_not_redrawn_for_a_held_lock_is_a_warning(tmp_path, monkeypatch):
    from mmbench.errors import MMBenchWarning
    from mmbench.leaderboard.render import render

    store.append_row(tmp_path, _row(1))
    monkeypatch.setenv(locks.TIMEOUT_ENV, "0")
    with locks.file_lock(store.lock_path(store.csv_path(tmp_path, DATASET)), "held by the test"):
        with pytest.warns(MMBenchWarning, match=r"gave up .*; so microlens_1m.md and microlens_1m.png were not "
                                                r"redrawn: `mmbench leaderboard --render` draws them"):
            summary, md = render(tmp_path, DATASET)
    assert len(summary.combinations) == 1 and not md.exists()
