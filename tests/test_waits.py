"""Nothing waits without a word: a config that is a FIFO is refused at once, a plugin slow to import
is named while it is awaited, a held lock is named and given up on after MMBENCH_LOCK_TIMEOUT (the
lock after training: tests/test_shared_folders.py keeps that row)."""
from __future__ import annotations

import math
import os
import socket
import threading
import time

import pytest

from mmbench import cli
from mmbench.files import locks
from mmbench.errors import MMBenchNote
from mmbench.contract.registry import load_entry_points, new_plugin_manager
from plugin_dists import make_dist


def _unblock_later(fifo, after: float = 20.0) -> threading.Timer:
    """A safety net: should a reader block on ``fifo`` after all, a writer comes and goes."""
    def write():
        with open(fifo, "w"):
            pass

    timer = threading.Timer(after, write)
    timer.daemon = True
    timer.start()
    return timer


@pytest.mark.parametrize("command, what", [("run", "config file"), ("sweep", "sweep file"), ("tune", "search file"),
                                           ("task1", "config file")])
def test_a_config_that_is_a_fifo_is_refused_at_once(tmp_path, capsys, command, what):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    timer = _unblock_later(fifo)
    start = time.monotonic()
    rc = cli.main([command, str(fifo)])
    elapsed = time.monotonic() - start
    timer.cancel()
    err = capsys.readouterr().err
    assert rc == 2 and elapsed < 10, (elapsed, err)
    assert err.strip().splitlines()[-1] == (f"error: {what} {fifo} is not a regular file (a FIFO); mmbench reads "
                                            "configs from files: save it to one and give that path")


def test_a_config_that_is_a_socket_is_refused(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        assert cli.main(["run", str(path)]) == 2
    assert "is not a regular file (a socket)" in capsys.readouterr().err


def test_a_plugin_slow_to_import_is_named_while_awaited(tmp_path, monkeypatch):
    site = make_dist(tmp_path / "site", "mmbench-slow", {"slow": "mmbench_slow_plugin"},
                     {"mmbench_slow_plugin": "import time\ntime.sleep(1.0)\n"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("MMBENCH_PLUGINS", "slow")
    monkeypatch.setattr(locks, "SAY_AFTER", 0.2)
    failures = []
    with pytest.warns(MMBenchNote, match=r"still waiting for plugin 'slow' \(mmbench-slow\) to import, 0.2 s so far "
                                         r"\(Ctrl-C stops; MMBENCH_DISABLE_PLUGINS=slow skips it\)"):
        origins = load_entry_points(new_plugin_manager(), failures)
    assert "slow" in origins and not failures


def test_a_fast_plugin_import_says_nothing(tmp_path, monkeypatch, recwarn):
    site = make_dist(tmp_path / "site", "mmbench-quick", {"quick": "mmbench_quick_plugin"},
                     {"mmbench_quick_plugin": "X = 1\n"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("MMBENCH_PLUGINS", "quick")
    monkeypatch.setattr(locks, "SAY_AFTER", 0.5)
    load_entry_points(new_plugin_manager(), [])
    time.sleep(0.7)  # the timer was cancelled: no late note either
    assert not [w for w in recwarn if issubclass(w.category, MMBenchNote)]


def test_a_held_lock_is_named_then_given_up_on(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "SAY_AFTER", 0.1)
    lock = tmp_path / "x.lock"
    with locks.file_lock(lock, "held"):
        start = time.monotonic()
        with pytest.warns(MMBenchNote, match=r"waiting for the lock .*x.lock \(the test's\), held by another "
                                             r"process; giving up after 0.5 s \(MMBENCH_LOCK_TIMEOUT\)"):
            with pytest.raises(locks.LockTimeout, match=r"x.lock \(the test's\) was held by another process for "
                                                        r"\d+\.\d s; gave up \(MMBENCH_LOCK_TIMEOUT=0.5\)"):
                with locks.file_lock(lock, "the test's", timeout=0.5):
                    pass
        assert 0.5 <= time.monotonic() - start < 5


def test_a_lock_without_a_limit_waits_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "SAY_AFTER", 0.1)
    lock = tmp_path / "gen.lock"
    holder = locks.file_lock(lock, "held")
    holder.__enter__()
    threading.Timer(0.6, holder.__exit__, (None, None, None)).start()
    with pytest.warns(MMBenchNote, match=r"\(one generation of this dataset at a time\), held by another process; "
                                         r"no time limit"):
        with locks.file_lock(lock, "one generation of this dataset at a time", timeout=math.inf):
            pass
