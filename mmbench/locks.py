"""An exclusive lock on a file in a shared folder that says what it waits for and gives up in time.

``flock`` on the lock file: the kernel drops the lock when its holder dies (SIGKILL included), so a
lock file left behind by a killed run is never stale, the next run simply takes it. The file is
opened for writing where the user may, else for reading (``flock`` needs no write permission): a
lock file another user created in a team folder still locks. Processes that lock the same file with
the ``filelock`` package (older mmbench versions) exclude and are excluded the same way.

A wait longer than :data:`SAY_AFTER` seconds prints one note naming the file; after
``MMBENCH_LOCK_TIMEOUT`` seconds (default :data:`DEFAULT_TIMEOUT`) :class:`LockTimeout` is raised.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path

from .errors import MMBenchError, note, short

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
                raise LockTimeout(f"{short(str(path), 200)} ({what}) was held by another process for {waited:.0f} s; "
                                  f"gave up ({TIMEOUT_ENV}={timeout:g}); see whether another mmbench is still "
                                  "running, or raise the timeout")
            if not said and waited >= SAY_AFTER:
                note(f"waiting for the lock {short(str(path), 200)} ({what}), held by another process; "
                     f"giving up after {timeout:g} s ({TIMEOUT_ENV})")
                said = True
            time.sleep(_POLL)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock
