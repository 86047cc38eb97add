"""MicroLens-1M in the MMCTR challenge layout: types, schema, reader and synthetic generator."""
from .types import ItemTable, MMCTRData, Split

__all__ = ["ItemTable", "MMCTRData", "Split"]
