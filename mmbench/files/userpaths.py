"""``~`` and ``~user`` in paths the user gives (configs, flags, environment variables), and mmbench's home."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import MMBenchError, short


def expand(path: str | Path, what: str = "the path") -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; a user unknown on this machine (or no home
    folder) is one error naming the path, not a RuntimeError from pathlib."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        user = str(path)[1:].split("/", 1)[0]
        who = f"the user '{user}' does not exist on this machine" if user else "the home folder is unknown ($HOME unset)"
        raise MMBenchError(f"{what} {short(str(path), 200)}: {who}; write the path out in full") from None


def mmbench_home() -> Path:
    """Where mmbench keeps data, caches and runs: ``$MMBENCH_HOME``, default ``~/.cache/mmbench``."""
    return expand(os.environ.get("MMBENCH_HOME") or "~/.cache/mmbench", "MMBENCH_HOME")
