"""Write files so that a reader never sees half of one: temp file in the same folder, then rename.

``mkstemp``/``mkdtemp`` create their temp files for the owner only; before the rename they get the
mode a plain ``open``/``mkdir`` would have given them under the user's umask, so a shared leaderboard
or cache folder stays readable by the team.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    try:  # Linux shows it without changing it (another thread could create a file meanwhile)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def _chmod_as_created(path: str | Path, mode: int) -> None:
    os.chmod(path, mode & ~_umask())


@contextlib.contextmanager
def naming(path: str | Path):
    """An OSError raised without a file name while writing ``path`` (a full disk: ``write`` and
    ``close`` do not say which file) gets ``path`` as its file name, so its message can name it."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc  # its errno's subclass


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with naming(path):
            yield Path(tmp)
        _chmod_as_created(tmp, 0o666)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Yield a temp folder beside ``path``; on success it becomes ``path`` (replacing an old one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        with naming(path):
            yield tmp
        _chmod_as_created(tmp, 0o777)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
