"""Read a MicroLens-1M data root (MMCTR layout) into :class:`MMCTRData`, validating as it goes.

Everything goes arrow -> numpy through buffers; nothing loops over rows in Python. Each problem is
reported as a one-line :class:`DataError` naming the file, the column and what to do.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from . import schema
from .schema import DOWNLOAD_PAGE, EXPECTED_TREE, FileSpec
from .types import N_LEVELS, N_TAG_SLOTS, SEQ_LEN, ItemTable, MMCTRData, Split

_FIX = f"fix or re-download the file ({DOWNLOAD_PAGE}), or regenerate synthetic data with `mmbench data synth`"


class _File:
    """One parquet file of the layout: checks presence and column types, then reads columns."""

    def __init__(self, root: Path, spec: FileSpec):
        self.spec = spec
        self.path = root / spec.path
        if not self.path.is_file():
            raise DataError(
                f"{self.path} is missing (expected columns {', '.join(spec.names)}); the data root must "
                f"look like {EXPECTED_TREE}; {_FIX}"
            )
        try:
            self.schema = pq.read_schema(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path} cannot be read as parquet ({exc}); {_FIX}") from None

    def fail(self, column: str, problem: str) -> DataError:
        return DataError(f"{self.path}: column '{column}' {problem}; {_FIX}")

    def read(self, columns: list[str]) -> pa.Table:
        for name in columns:
            if name not in self.schema.names:
                raise self.fail(name, f"is missing (the file has {', '.join(self.schema.names)})")
            self._check_type(name, self.schema.field(name).type)
        try:
            table = pq.read_table(self.path, columns=columns, use_threads=True)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path} cannot be read as parquet ({exc}); {_FIX}") from None
        for name in columns:
            if table.column(name).null_count:
                raise self.fail(name, f"has {table.column(name).null_count} nulls")
        return table

    def _check_type(self, name: str, actual: pa.DataType) -> None:
        """Accept what the data means, not only the exact arrow type: any integer width for ids, and
        a variable list whose rows all have the right length where a fixed-size list is expected."""
        expected = self.spec.column(name).type
        if pa.types.is_fixed_size_list(expected):
            ok = _is_list(actual) and _same_kind(actual.value_type, expected.value_type)
            if ok and pa.types.is_fixed_size_list(actual) and actual.list_size != expected.list_size:
                raise self.fail(name, f"has lists of length {actual.list_size}, expected {expected.list_size}")
        elif pa.types.is_list(expected):
            ok = _is_list(actual) and _same_kind(actual.value_type, expected.value_type)
        else:
            ok = _same_kind(actual, expected)
        if not ok:
            raise self.fail(name, f"has type {actual}, expected {expected}")

    def ints(self, table: pa.Table, name: str, dtype, lo: int | None = None, hi: int | None = None) -> np.ndarray:
        values = _to_numpy(table.column(name)).astype(dtype, copy=False)
        self.check_range(values, name, lo, hi)
        return values

    def matrix(self, table: pa.Table, name: str, width: int, dtype) -> np.ndarray:
        """A (fixed-length) list column as an (n, width) array, filled chunk by chunk."""
        column = table.column(name)
        out = np.empty((len(column), width), dtype=dtype)
        row = 0
        for chunk in column.chunks:
            n = len(chunk)
            if not pa.types.is_fixed_size_list(chunk.type):
                offsets = chunk.offsets.to_numpy()
                lengths = np.diff(offsets)
                if n and not np.all(lengths == width):
                    bad = lengths[lengths != width][0]
                    raise self.fail(name, f"has a list of length {bad}, expected every list to have {width}")
            flat = chunk.flatten()
            if flat.null_count:
                raise self.fail(name, "has null list elements")
            out[row : row + n] = _to_numpy(flat).reshape(n, width)
            row += n
        return out

    def check_range(self, values: np.ndarray, name: str, lo: int | None, hi: int | None) -> None:
        if values.size == 0:
            return
        vmin, vmax = values.min(), values.max()
        if lo is not None and vmin < lo:
            raise self.fail(name, f"has value {vmin}, below the allowed minimum {lo}")
        if hi is not None and vmax > hi:
            raise self.fail(name, f"has value {vmax}, above the allowed maximum {hi}")


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _same_kind(actual: pa.DataType, expected: pa.DataType) -> bool:
    for is_kind in (pa.types.is_integer, pa.types.is_floating, pa.types.is_string):
        if is_kind(expected):
            return is_kind(actual) or (is_kind is pa.types.is_string and pa.types.is_large_string(actual))
    return actual == expected


def _to_numpy(array) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array.to_numpy(zero_copy_only=False)


def _require_root(root: Path) -> None:
    if not root.is_dir():
        raise DataError(
            f"data root {root} does not exist: download MicroLens-1M in the MMCTR layout from {DOWNLOAD_PAGE} "
            f"and unpack it so that it looks like {EXPECTED_TREE} (or generate synthetic data with "
            f"`mmbench data synth --out DIR`)"
        )


def _read_split(root: Path, name: str, n_items: int) -> Split:
    spec = schema.SPLITS[name]
    f = _File(root, spec)
    columns = [c.name for c in spec.columns]
    table = f.read(columns)
    item_seq = f.matrix(table, "item_seq", SEQ_LEN, np.int32)
    f.check_range(item_seq, "item_seq", 0, n_items - 1)
    split = Split(
        name=name,
        user_id=f.ints(table, "user_id", np.int32, 0),
        item_seq=item_seq,
        item_id=f.ints(table, "item_id", np.int32, 0, n_items - 1),
        likes_level=f.ints(table, "likes_level", np.int8, 0, N_LEVELS - 1),
        views_level=f.ints(table, "views_level", np.int8, 0, N_LEVELS - 1),
    )
    if "label" in columns:
        label = _to_numpy(table.column("label"))
        if label.size and not np.all((label == 0) | (label == 1)):
            bad = label[(label != 0) & (label != 1)][0]
            raise f.fail("label", f"has value {bad}; labels must be 0 or 1")
        split.label = label.astype(np.float32)
    if "ID" in columns:
        ids = _to_numpy(table.column("ID")).astype(np.int64, copy=False)
        if not np.array_equal(np.sort(ids), np.arange(len(ids))):
            raise f.fail("ID", f"must hold each of 0..{len(ids) - 1} exactly once")
        split.ids = ids
    return split


def _aligned_ids(f: _File, table: pa.Table, n_items: int, first: int) -> np.ndarray:
    """The file's ``item_id`` column, checked to name distinct items in first..n_items-1."""
    ids = f.ints(table, "item_id", np.int64, first, n_items - 1)
    if len(np.unique(ids)) != len(ids):
        raise f.fail("item_id", "has duplicate item ids")
    return ids


def _read_items(root: Path) -> ItemTable:
    info = _File(root, schema.ITEM_INFO)
    table = info.read(["item_id", "item_tags"])
    n_items = table.num_rows
    ids = _aligned_ids(info, table, n_items, 0)
    tags = np.zeros((n_items, N_TAG_SLOTS), np.int32)
    tags[ids] = info.matrix(table, "item_tags", N_TAG_SLOTS, np.int32)
    info.check_range(tags, "item_tags", 0, None)
    tags[0] = 0

    feature = _File(root, schema.ITEM_FEATURE)
    table = feature.read(["item_id", "item_title", "likes_level", "views_level"])
    ids = _aligned_ids(feature, table, n_items, 1)
    likes = np.zeros(n_items, np.int8)
    views = np.zeros(n_items, np.int8)
    likes[ids] = feature.ints(table, "likes_level", np.int8, 0, N_LEVELS - 1)
    views[ids] = feature.ints(table, "views_level", np.int8, 0, N_LEVELS - 1)
    titles = [""] * n_items
    for item_id, title in zip(ids.tolist(), table.column("item_title").to_pylist()):
        titles[item_id] = title

    image_dir = root / schema.IMAGE_DIR
    source_files = [root / spec.path for spec in (schema.ITEM_INFO, schema.ITEM_FEATURE, schema.ITEM_EMB)]
    return ItemTable(
        n_items=n_items,
        item_tags=tags,
        likes_level=likes,
        views_level=views,
        titles=titles,
        image_dir=image_dir if image_dir.is_dir() else None,
        load_shipped=lambda file, column: load_shipped(root, n_items, file, column),
        source_files=[p for p in source_files if p.exists()],
    )


def load_shipped(root: Path, n_items: int, file: str, column: str) -> np.ndarray:
    """One shipped embedding column as float32 (n_items, d), row i = item i, row 0 (padding) zero."""
    try:
        spec = schema.spec_for(file)
    except KeyError:
        known = ", ".join(f"{f}:{c}" for f, c in schema.SHIPPED_EMBEDDINGS)
        raise DataError(f"unknown embedding file '{file}'; shipped embeddings are {known}") from None
    f = _File(root, spec)
    if (spec.path.rsplit("/", 1)[-1], column) not in schema.SHIPPED_EMBEDDINGS:
        raise f.fail(column, "is not a shipped embedding column "
                     f"(known: {', '.join(c for _, c in schema.SHIPPED_EMBEDDINGS)})")
    table = f.read(["item_id", column])
    ids = _aligned_ids(f, table, n_items, 0)
    width = spec.column(column).type.list_size
    out = np.zeros((n_items, width), np.float32)
    out[ids] = f.matrix(table, column, width, np.float32)
    out[0] = 0.0
    return out


def _read_oracle_auc(root: Path) -> float | None:
    path = root / schema.ORACLE_FILE
    if not path.is_file():
        return None
    try:
        return float(json.loads(path.read_text())["valid_auc"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: key 'valid_auc' cannot be read ({exc}); delete the file or regenerate the data") from None


def load_mmctr(root: Path, dataset_id: str) -> MMCTRData:
    """Load and validate a data root in the MMCTR layout (see ``mmbench/data/schema.py``)."""
    root = Path(root).expanduser()
    _require_root(root)
    items = _read_items(root)
    splits = {name: _read_split(root, name, items.n_items) for name in ("train", "valid", "test")}
    n_users = max(int(s.user_id.max(initial=0)) for s in splits.values()) + 1
    return MMCTRData(
        dataset_id=dataset_id,
        root=root,
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        items=items,
        n_users=n_users,
        n_tags=int(items.item_tags.max(initial=0)) + 1,
        oracle_auc=_read_oracle_auc(root),
    )
