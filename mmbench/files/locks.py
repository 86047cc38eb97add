"""Waits that say what they wait for: an exclusive lock on a file in a shared folder that gives up in
time, and :func:`said_if_slow` for a wait that cannot be bounded safely (a plugin's import).

``flock`` on the lock file: the kernel drops the lock when its holder dies (SIGKILL included), so a
lock file left behind by a killed run is never stale, the next run simply takes it. The file is
opened for writing where the user may, else for reading (``flock`` needs no write permission): a
lock file another user created in a team folder still locks. Processes that lock the same file with
the ``filelock`` package (older mmbench versions) exclude and are excluded the same way.

A wait longer than :data:`SAY_AFTER` seconds prints one note naming the file; after
``MMBENCH_LOCK_TIMEOUT`` seconds (default :data:`DEFAULT_TIMEOUT`) :class:`LockTimeout` is raised;
a lock whose holder does long work that must not be cut short (generating a dataset) is taken with
``timeout=math.inf``: it says what it waits for and waits.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import threading
import time
from pathlib import Path

from ..errors import MMBenchError, note, short

TIMEOUT_ENV = "MMBENCH_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 600.0  # seconds; a writer holds a leaderboard lock for well under a second
SAY_AFTER = 3.0  # seconds of waiting before the note
_POLL = 0.05


class LockTimeout(MMBenchError):
    """Another process held the lock for longer than the configured timeout."""


def lock_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise MMBenchError(f"{TIMEOUT_ENV}={short(repr(raw), 60)} is not a number of seconds >= 0; unset it "
                           f"(default {DEFAULT_TIMEOUT:g}) or give one such as {TIMEOUT_ENV}=120")
    return value


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides who else may open it
    except PermissionError:
        if not path.is_file():
            raise
    try:
        return os.open(path, os.O_RDONLY)
    except PermissionError as exc:
        raise PermissionError(exc.errno, exc.strerror, str(path)) from None


@contextlib.contextmanager
def file_lock(path: str | Path, what: str, timeout: float | None = None):
    """Hold an exclusive lock on ``path`` (created if missing); ``what`` names it in the messages."""
    path = Path(path)
    timeout = lock_timeout() if timeout is None else timeout
    fd = _open(path)
    try:
        start, said = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            waited = time.monotonic() - start
            if waited >= timeout:
                raise LockTimeout(f"{short(str(path), 200)} ({what}) was held by another process for {waited:.1f} s; "
                                  f"gave up ({TIMEOUT_ENV}={timeout:g}); see whether another mmbench is still "
                                  "running, or raise the timeout")
            if not said and waited >= SAY_AFTER:
                limit = f"giving up after {timeout:g} s ({TIMEOUT_ENV})" if math.isfinite(timeout) else "no time limit"
                note(f"waiting for the lock {short(str(path), 200)} ({what}), held by another process; {limit}")
                said = True
            time.sleep(_POLL)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


@contextlib.contextmanager
def said_if_slow(what: str, hint: str = "", after: float | None = None):
    """Run the block; when it takes longer than ``after`` seconds (default :data:`SAY_AFTER`), one note
    says what is awaited meanwhile (from a timer thread: the block itself may be stuck)."""
    after = SAY_AFTER if after is None else after
    timer = threading.Timer(after, lambda: note(f"still waiting for {what}, {after:g} s so far"
                                                + (f" ({hint})" if hint else "")))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
