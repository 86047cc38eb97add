"""MicroLens-1M in the MMCTR challenge layout: types, schema, the columnar reader, and what a data root may
know beyond the challenge files (a synthetic world's truth). The generator lives with its dataset plugin."""
from __future__ import annotations

from ..files.userpaths import mmbench_home
from .types import ItemTable, MMCTRData, Split

__all__ = ["ItemTable", "MMCTRData", "Split", "mmbench_home"]
