"""Checks of output locations before any expensive work: a run must not train for an hour and then
find that it cannot write its row. Each problem is one :class:`MMBenchError` naming the path."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import MMBenchError, short
from .userpaths import expand


def _fail(what: str, path: Path, problem: str) -> MMBenchError:
    return MMBenchError(f"{what} {short(str(path), 200)} {problem}; choose another location or fix it")


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _probe(folder: Path, what: str, path: Path) -> None:
    """Prove that a file can be created in ``folder`` (permissions, read-only or full file systems)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mmbench-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise _fail(what, path, f"is not writable ({exc.strerror or type(exc).__name__})") from None


def _check_folder(folder: Path, what: str, shown: Path) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        kind = "a file" if existing.is_file() else "not a folder"
        if existing == shown:
            raise _fail(what, shown, f"is {kind}, not a folder")
        raise _fail(what, shown, f"cannot be created: {short(str(existing), 200)} is {kind}")
    _probe(existing, what, shown)


def writable_dir(path: str | Path, what: str) -> Path:
    """``path`` is a folder mmbench can write in, or can be created (it is not created here)."""
    path = expand(path, what)
    _check_folder(path, what, path)
    return path


def writable_file(path: str | Path, what: str) -> Path:
    """``path`` can be written (created or replaced) as a regular file."""
    path = expand(path, what)
    if os.path.lexists(path) and not path.is_file():
        raise _fail(what, path, "exists and is not a regular file")
    _check_folder(path.parent, what, path)
    return path


def home_dir() -> Path:
    """``$MMBENCH_HOME`` (data, caches, runs), checked as a writable folder."""
    from .userpaths import mmbench_home

    return writable_dir(mmbench_home(), "MMBENCH_HOME")


#: characters a name that becomes one file name may not hold (a separator, NUL, a drive colon on Windows)
_NOT_IN_NAMES = ("/", "\\", "\x00")


def check_name(name: str, what: str) -> str:
    """``name`` (a study, a dataset id, a label) can name one file inside its folder and nothing else:
    not empty, no path separator or NUL, not ``.`` or ``..``. Otherwise one error naming ``what``."""
    text = str(name)
    if not text.strip() or text in (".", "..") or any(c in text for c in _NOT_IN_NAMES) or len(text) > 200:
        raise MMBenchError(f"{what} {short(repr(text), 80)} cannot name a file: give a plain name (letters, digits, "
                           f"'-', '_', '.'; no '/', '\\' or '..'; at most 200 characters)")
    return text


def inside(folder: str | Path, name: str, what: str, suffix: str = "") -> Path:
    """``folder / (name + suffix)``, with ``name`` confined to ``folder`` (:func:`check_name`): every name
    that becomes a path goes through here, so none can write outside its folder."""
    return Path(folder) / (check_name(name, what) + suffix)
