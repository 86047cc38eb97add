"""Write files so that a reader never sees half of one: temp file in the same folder, then rename.

Shared folders are respected. A path that is a symlink is written through: the file it points at is
replaced, by a temp file in that file's folder (the link stays a link). Where the rename over an
existing file is not permitted (a sticky folder, 1777, and a file another user owns), a file the
user may write is updated in place instead: by appending what the new content adds to the old (the
leaderboard's usual change), else by rewriting it; callers that need exclusion hold their lock. A
write that fails for lack of space or permission names the path it was writing.
``mkstemp``/``mkdtemp`` create their temp files for the owner only; before the rename they get the
mode a plain ``open``/``mkdir`` would have given them under the user's umask, so a shared leaderboard
or cache folder stays readable by the team.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

_HOST = re.sub(r"\W", "_", socket.gethostname())[:40] or "host"
#: a temp name of mmbench's writers: (what it is for, host, pid)
LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<host>\w+)-(?P<pid>\d+)\.(?:\w+\.tmp|partial|old)$")


def writer_tag() -> str:
    """This process, as its temp names carry it."""
    return f"{_HOST}-{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_leftovers(folder: str | Path, name: str | None = None) -> list[Path]:
    """Remove the temp files and folders that dead writers on this host left in ``folder`` (only those
    for ``name``, if given). Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = LEFTOVER.match(entry.name)
        if not m or m["host"] != _HOST or (name is not None and m["name"] != name) or _alive(int(m["pid"])):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:  # another user's, or already gone: harmless either way
            pass
    return removed


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


def written_path(path: str | Path) -> Path:
    """The file a write to ``path`` changes: the target of a symlink (of a chain of them), else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _with_path(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` when it names nothing (a bare "No space left on device" from write())."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def _update_in_place(new: Path, path: Path) -> None:
    """``path`` given ``new``'s content without replacing the file (same inode, owner and mode)."""
    data = new.read_bytes()
    with open(path, "r+b") as f:
        old = f.read()
        if data.startswith(old):  # an append: a reader sees the old content or the old plus the new line
            f.write(data[len(old):])
        else:
            f.seek(0)
            f.write(data)
            f.truncate()
        f.flush()
        os.fsync(f.fileno())


def replace_by_rename(tmp: str | Path, path: Path) -> None:
    """``tmp`` becomes ``path``; where the folder does not permit that rename (sticky), a file the user
    may write gets the content in place."""
    try:
        os.replace(tmp, path)
    except PermissionError as exc:
        if not (path.is_file() and os.access(path, os.W_OK)):
            raise PermissionError(exc.errno, exc.strerror, str(path)) from None
        _update_in_place(Path(tmp), path)
        os.unlink(tmp)


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
    """Yield a temp path beside ``path`` (beside its target, for a symlink); on success it replaces
    that file in one rename."""
    path = written_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with naming(path):
            yield Path(tmp)
        _chmod_as_created(tmp, 0o666)
        replace_by_rename(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and _with_path(exc, path) is not exc:
            raise _with_path(exc, path) from exc
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
    path = written_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp", dir=path.parent))
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
