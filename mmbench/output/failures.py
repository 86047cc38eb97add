"""Turn any exception that reaches the CLI into one line and an exit code.

mmbench's own errors already say what to do. What the environment does to a run — a folder that
cannot be written, a full disk, a file that is not UTF-8, memory that cannot be allocated — is named
as such, with the path, even when it surfaced inside plugin code (which would otherwise be blamed).
Anything else is an internal error: one line, exit 1, the traceback behind ``MMBENCH_DEBUG=1``.
"""
from __future__ import annotations

import errno
import os

from ..errors import MMBenchError, PluginError, short

USER_EXIT, INTERNAL_EXIT = 2, 1
_NO_HOME = "Could not determine home directory"  # pathlib's RuntimeError for ~nosuchuser
_OOM_TEXT = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory",
             "unable to allocate", "failed to allocate")
_OS_ADVICE = {
    errno.EACCES: "fix its permissions or choose another location",
    errno.EPERM: "fix its permissions or choose another location",
    errno.EROFS: "it is on a read-only file system; choose another location",
    errno.ENOSPC: "free disk space (e.g. `mmbench cache clear`) or point MMBENCH_HOME / the output at a larger disk",
    errno.EDQUOT: "free disk space or point MMBENCH_HOME / the output at a larger disk",
    errno.ENOENT: "check that the path exists",
    errno.ENOTDIR: "a part of the path is a file where a folder is needed; choose another location",
    errno.EISDIR: "it is a folder where a file is needed; give a file path",
    errno.EEXIST: "something else is already there; choose another location",
    errno.ENAMETOOLONG: "use a shorter path",
}


def causes(exc: BaseException):
    """``exc`` and what caused it: explicit causes, then the exceptions being handled when it was raised."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(t in str(exc).lower() for t in _OOM_TEXT)


def _first_line(exc: BaseException, limit: int = 200) -> str:
    lines = str(exc).strip().splitlines()
    return short(lines[0] if lines else type(exc).__name__, limit)


def _environment_cause(exc: BaseException) -> BaseException | None:
    """The environment failure behind ``exc``: itself, or the cause of a PluginError (plugin code
    that hit a full disk is not a bug in the plugin). A deliberate mmbench error is taken as it is."""
    if isinstance(exc, MMBenchError) and not isinstance(exc, PluginError):
        return None
    candidates = list(causes(exc)) if not isinstance(exc, PluginError) else [exc, *causes(exc.__cause__)]
    for item in candidates:
        if _is_oom(item):
            return item
    for item in candidates:
        if isinstance(item, (OSError, UnicodeError)):
            return item
    return None


def _during(exc: BaseException, cause: BaseException) -> str:
    """For a wrapped failure: what was being done (the plugin error's text before the cause)."""
    if exc is cause or not isinstance(exc, PluginError):
        return ""
    return " (" + short(str(exc).split(f": {type(cause).__name__}")[0], 120) + ")"


#: errors that say where the path went wrong, not what is wrong with the disk
_PATH_ERRNOS = (errno.ENOTDIR, errno.EEXIST, errno.ENOENT)


def _file_in_the_way(path: str) -> str | None:
    """The file that stands where ``path`` needs a folder: itself or one of its parents (e.g.
    ``/etc/passwd`` for ``/etc/passwd/x``); None when there is none."""
    try:
        candidates = [os.path.abspath(path)]
    except (ValueError, OSError):
        return None
    while os.path.dirname(candidates[-1]) != candidates[-1]:
        candidates.append(os.path.dirname(candidates[-1]))
    for candidate in reversed(candidates):  # the top-most file is the one in the way
        try:
            if os.path.lexists(candidate) and not os.path.isdir(candidate):
                return candidate
        except (ValueError, OSError):
            return None
    return None


def describe_os_error(exc: OSError) -> str:
    path = exc.filename if exc.filename is not None else None
    reason = exc.strerror or _first_line(exc)
    advice = _OS_ADVICE.get(exc.errno, "check the path, its permissions and the free disk space")
    if path is None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # a writer that did not say what it wrote
            return f"a disk is full ({short(reason, 200)}; mmbench could not tell which file was being written); {advice}"
        return f"{type(exc).__name__}: {short(reason, 200)}; {advice}"
    blocker = _file_in_the_way(str(path)) if exc.errno in _PATH_ERRNOS else None
    if blocker is not None:
        where = "is a file" if os.path.abspath(str(path)) == blocker else f"is under {short(blocker, 200)}, a file"
        return (f"{short(str(path), 200)} {where} where a folder is needed ({short(reason, 200)}); "
                "choose a location whose folders are folders")
    other = f" -> {short(str(exc.filename2), 120)}" if getattr(exc, "filename2", None) else ""
    return f"{short(str(path), 200)}{other}: {short(reason, 200)}; {advice}"


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for an exception that reached the CLI."""
    cause = _environment_cause(exc)
    if cause is not None and _is_oom(cause):
        return (f"out of memory{_during(exc, cause)}: {_first_line(cause)}; use smaller sizes (model widths, "
                "train.batch_size, train.eval_batch_size, encoder batch sizes), fewer rows (train.max_train_rows) "
                "or a machine with more memory", USER_EXIT)
    if isinstance(cause, OSError):
        return describe_os_error(cause) + _during(exc, cause), USER_EXIT
    if isinstance(cause, UnicodeError):
        return (f"text that is not valid UTF-8{_during(exc, cause)}: {_first_line(cause)}; save the file as "
                "UTF-8", USER_EXIT)
    home = None if isinstance(exc, MMBenchError) and not isinstance(exc, PluginError) else next(
        (e for e in causes(exc) if isinstance(e, RuntimeError) and _NO_HOME in str(e)), None)
    if home is not None:
        return (f"a path starts with ~ or ~user, and that user does not exist on this machine (or $HOME is unset)"
                f"{_during(exc, home)}; write the path out in full", USER_EXIT)
    if isinstance(exc, MMBenchError):
        return short(str(exc), 1500), exc.exit_code
    return (f"internal error: {type(exc).__name__}: {_first_line(exc, 300)} (a bug in mmbench or a plugin, "
            "not a problem of your input as far as mmbench can tell; MMBENCH_DEBUG=1 shows the traceback, "
            "please report it)", INTERNAL_EXIT)
