"""MicroLens-1M in the MMCTR challenge layout: types, schema, reader and synthetic generator."""
from __future__ import annotations

import os
from pathlib import Path

from .types import ItemTable, MMCTRData, Split

__all__ = ["ItemTable", "MMCTRData", "Split", "mmbench_home"]


def mmbench_home() -> Path:
    """Where mmbench keeps data, caches and runs: ``$MMBENCH_HOME``, default ``~/.cache/mmbench``."""
    from ..userpaths import expand

    return expand(os.environ.get("MMBENCH_HOME") or "~/.cache/mmbench", "MMBENCH_HOME")
