"""Read a MicroLens-1M data root (MMCTR layout) into :class:`MMCTRData`, validating as it goes.

Everything goes arrow -> numpy through buffers; nothing loops over rows in Python. Each problem is
reported as a one-line :class:`DataError` naming the file, the column and what to do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError, note, short, warn
from ..files.userpaths import expand
from . import schema, truth
from .schema import DOWNLOAD_PAGE, EXPECTED_TREE, FileSpec
from .types import N_LEVELS, N_TAG_SLOTS, SEQ_LEN, ItemTable, MMCTRData, Split

_FIX = f"fix or re-download the file ({DOWNLOAD_PAGE}), or regenerate synthetic data with `mmbench data synth`"


@dataclass(frozen=True)
class Want:
    """How to read one numeric column: numpy dtype, list width (0 = scalar) and allowed range."""

    dtype: type
    width: int = 0
    lo: int | None = None
    hi: int | None = None


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
            raise self.unreadable(exc) from None

    def num_rows(self) -> int:
        try:
            return pq.ParquetFile(self.path).metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise self.unreadable(exc) from None

    def titles(self, ids: np.ndarray) -> list[str]:
        """The ``item_title`` column as text; a null title is an empty one (encoders count it missing)."""
        self._check_columns(["item_title"])
        try:
            column = pq.read_table(self.path, columns=["item_title"]).column(0)
        except (pa.ArrowException, OSError) as exc:
            raise self.unreadable(exc, ["item_title"]) from None
        for chunk_start, chunk in zip(np.cumsum([0] + [len(c) for c in column.chunks]), column.chunks):
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid as exc:
                row = _first_int(str(exc))
                at = f" (item_id {ids[chunk_start + row]})" if row is not None and chunk_start + row < len(ids) else ""
                raise self.fail("item_title", f"has text that is not valid UTF-8{at}; re-encode the titles as "
                                "UTF-8") from None
        return ["" if t is None else t for t in column.to_pylist()]

    def unreadable(self, exc: Exception, columns: list[str] | None = None) -> DataError:
        """The file cannot be decoded; with ``columns``, name the first of them that fails on its own
        (e.g. a null inside a fixed-size list, which some pyarrow versions refuse while reading)."""
        for name in columns or ():
            try:
                pq.read_table(self.path, columns=[name], use_threads=False)
            except (pa.ArrowException, OSError) as col_exc:
                return self.fail(name, f"cannot be read ({short(str(col_exc), 200)})")
        return DataError(f"{self.path} cannot be read as parquet ({short(str(exc), 200)}); {_FIX}")

    def fail(self, column: str, problem: str) -> DataError:
        return DataError(f"{self.path}: column '{column}' {problem}; {_FIX}")

    def read_table(self, columns: list[str]) -> pa.Table:
        """Columns as arrow (for strings); numeric columns go through :meth:`arrays`."""
        self._check_columns(columns)
        try:
            table = pq.read_table(self.path, columns=columns, use_threads=True)
        except (pa.ArrowException, OSError) as exc:
            raise self.unreadable(exc, columns) from None
        for name in columns:
            if table.column(name).null_count:
                raise self.fail(name, f"has {table.column(name).null_count} nulls")
        return table

    def arrays(self, wanted: dict[str, Want]) -> dict[str, np.ndarray]:
        """Numeric columns as numpy arrays, checked and converted row group by row group.

        ``pq.read_table`` decodes a column on one thread, and the (n, 64) ``item_seq`` column is most
        of the work, so row groups are decoded and converted side by side into preallocated arrays.
        """
        self._check_columns(list(wanted))
        try:
            meta = pq.ParquetFile(self.path).metadata
        except (pa.ArrowException, OSError) as exc:
            raise self.unreadable(exc) from None
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        n = int(starts[-1])
        out = {name: np.empty((n, w.width) if w.width else n, w.dtype) for name, w in wanted.items()}

        def fill(group: int) -> None:
            try:
                table = pq.ParquetFile(self.path).read_row_group(group, columns=list(wanted), use_threads=False)
            except (pa.ArrowException, OSError) as exc:
                raise self.unreadable(exc, list(wanted)) from None
            for name, want in wanted.items():
                self._fill(table.column(name), name, want, out[name][starts[group] : starts[group + 1]])

        with ThreadPoolExecutor(max(1, min(len(sizes), os.cpu_count() or 1))) as pool:
            list(pool.map(fill, range(len(sizes))))
        return out

    def _fill(self, column: pa.ChunkedArray, name: str, want: Want, dst: np.ndarray) -> None:
        row = 0
        for chunk in column.chunks:
            n = len(chunk)
            if chunk.null_count:
                raise self.fail(name, f"has {chunk.null_count} nulls")
            if want.width:
                if not pa.types.is_fixed_size_list(chunk.type):
                    lengths = np.diff(chunk.offsets.to_numpy())
                    if n and not np.all(lengths == want.width):
                        bad = lengths[lengths != want.width][0]
                        raise self.fail(name, f"has a list of length {bad}, expected every list to have {want.width}")
                chunk = chunk.flatten()
                if chunk.null_count:
                    raise self.fail(name, "has null list elements")
            values = chunk.to_numpy(zero_copy_only=False)
            self.check_range(values, name, want.lo, want.hi)  # before narrowing, so nothing wraps
            dst[row : row + n] = values.reshape(dst[row : row + n].shape)
            row += n

    def _check_columns(self, columns: list[str]) -> None:
        for name in columns:
            if name not in self.schema.names:
                raise self.fail(name, f"is missing (the file has {', '.join(self.schema.names)})")
            self._check_type(name, self.schema.field(name).type)

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

    def check_range(self, values: np.ndarray, name: str, lo: int | None, hi: int | None) -> None:
        if values.size == 0 or (lo is None and hi is None):
            return
        vmin, vmax = values.min(), values.max()
        if lo is not None and vmin < lo:
            raise self.fail(name, f"has value {vmin}, below the allowed minimum {lo}")
        if hi is not None and vmax > hi:
            raise self.fail(name, f"has value {vmax}, above the allowed maximum {hi}")


def _first_int(text: str) -> int | None:
    import re

    found = re.search(r"index (\d+)", text)
    return int(found.group(1)) if found else None


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _same_kind(actual: pa.DataType, expected: pa.DataType) -> bool:
    for is_kind in (pa.types.is_integer, pa.types.is_floating, pa.types.is_string):
        if is_kind(expected):
            return is_kind(actual) or (is_kind is pa.types.is_string and pa.types.is_large_string(actual))
    return actual == expected


def _require_root(root: Path) -> None:
    if not root.is_dir():
        raise DataError(
            f"data root {root} does not exist: download MicroLens-1M in the MMCTR layout from {DOWNLOAD_PAGE} "
            f"and unpack it so that it looks like {EXPECTED_TREE} (or generate synthetic data with "
            f"`mmbench data synth --out DIR`)"
        )


#: rows a split needs: training batches need 2 (batch norm), AUC needs a click and a non-click
MIN_ROWS = {"train": 2, "valid": 2}
#: ids index embedding rows up to the largest one: an id far beyond the data's size would allocate
#: a table of that many rows (2e9 user ids: 128 GB), so ids must be numbered compactly
MIN_ID_LIMIT = 2**22


def _id_limit(n: int) -> int:
    return max(MIN_ID_LIMIT, 2 * n)


def _check_compact(f: "_File", column: str, values: np.ndarray, n_rows: int, what: str) -> None:
    limit = _id_limit(n_rows)
    top = int(values.max(initial=0))
    if top >= limit:
        raise f.fail(column, f"has value {top:,} but the data holds only {n_rows:,} {what}: mmbench gives every id "
                     f"up to the largest its own embedding row, so ids must be numbered compactly from 0 (below "
                     f"{limit:,} here); renumber them")


def _read_split(root: Path, name: str, n_items: int) -> Split:
    spec = schema.SPLITS[name]
    f = _File(root, spec)
    item = Want(np.int32, lo=1, hi=n_items - 1)  # a target is an item, never the padding id 0
    level = Want(np.int8, lo=0, hi=N_LEVELS - 1)
    wanted = {
        "user_id": Want(np.int32, lo=0, hi=np.iinfo(np.int32).max),
        "item_seq": Want(np.int32, SEQ_LEN, lo=0, hi=n_items - 1),
        "item_id": item,
        "likes_level": level,
        "views_level": level,
    }
    if "label" in spec.names:
        wanted["label"] = Want(np.float32)
    if "ID" in spec.names:
        wanted["ID"] = Want(np.int64)
    cols = f.arrays(wanted)
    split = Split(name, cols["user_id"], cols["item_seq"], cols["item_id"], cols["likes_level"], cols["views_level"])
    if name in MIN_ROWS and len(split) < MIN_ROWS[name]:
        raise DataError(f"{f.path} has {len(split)} row(s); the {name} split needs at least {MIN_ROWS[name]}; {_FIX}")
    if "label" in cols:
        label = cols["label"]
        bad = label[(label != 0) & (label != 1)]
        if bad.size:
            raise f.fail("label", f"has value {bad[0]:g}; labels must be 0 or 1")
        if label.min() == label.max():
            raise f.fail("label", f"holds only {int(label[0])}s ({len(label):,} rows); the {name} split needs both "
                         "clicks (1) and non-clicks (0)" + (" for AUC to exist" if name == "valid" else " to learn from"))
        split.label = label
    if "ID" in cols:
        ids = cols["ID"]
        if not np.array_equal(np.sort(ids), np.arange(len(ids))):
            raise f.fail("ID", f"must hold each of 0..{len(ids) - 1} exactly once")
        split.ids = ids
    return split


def _check_distinct(f: _File, ids: np.ndarray) -> np.ndarray:
    if len(np.unique(ids)) != len(ids):
        raise f.fail("item_id", "has duplicate item ids")
    return ids


def _read_items(root: Path) -> ItemTable:
    info = _File(root, schema.ITEM_INFO)
    n_items = info.num_rows()
    if n_items < 2:
        raise DataError(f"{info.path} has {n_items} row(s); it needs the padding row 0 and at least one item; {_FIX}")
    cols = info.arrays({"item_id": Want(np.int64, lo=0, hi=n_items - 1),
                        "item_tags": Want(np.int32, N_TAG_SLOTS, lo=0, hi=np.iinfo(np.int32).max)})
    _check_compact(info, "item_tags", cols["item_tags"], n_items * N_TAG_SLOTS, "tag slots")
    tags = np.zeros((n_items, N_TAG_SLOTS), np.int32)
    tags[_check_distinct(info, cols["item_id"])] = cols["item_tags"]
    tags[0] = 0

    feature = _File(root, schema.ITEM_FEATURE)
    level = Want(np.int8, lo=0, hi=N_LEVELS - 1)
    cols = feature.arrays({"item_id": Want(np.int64, lo=1, hi=n_items - 1), "likes_level": level, "views_level": level})
    ids = _check_distinct(feature, cols["item_id"])
    _warn_coverage(feature, len(ids), n_items, "has rows for", "the others have an empty title and levels 0")
    likes = np.zeros(n_items, np.int8)
    views = np.zeros(n_items, np.int8)
    likes[ids] = cols["likes_level"]
    views[ids] = cols["views_level"]
    titles = [""] * n_items
    for item_id, title in zip(ids.tolist(), feature.titles(ids)):
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
        no_covers_warning="" if image_dir.is_dir() else (
            f"{image_dir} {'is not a folder' if image_dir.exists() else 'does not exist'}: all {n_items - 1:,} "
            "item covers are replaced by the encoder's "
            "image_fallback, so the image part of these vectors carries no information"),
        load_shipped=lambda file, column: load_shipped(root, n_items, file, column),
        source_files=[p for p in source_files if p.exists()],
    )


#: shipped embeddings are of order 1; beyond this, float32 sums of squares (PCA, norms) overflow
MAX_EMBEDDING_ABS = 1e9


def _warn_coverage(f: _File, n_rows: int, n_items: int, has: str, consequence: str) -> None:
    """A file meant to cover every item (1..N) that covers fewer: the run is possible but says so."""
    if n_rows < n_items - 1:
        warn(f"{f.path}: {has} {n_rows:,} of {n_items - 1:,} items; {consequence}")


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
    width = spec.column(column).type.list_size
    cols = f.arrays({"item_id": Want(np.int64, lo=0, hi=n_items - 1), column: Want(np.float32, width)})
    ids = _check_distinct(f, cols["item_id"])
    # False for NaN and inf too; the padding row 0 is zeroed whatever the file holds
    usable = (np.abs(cols[column]) <= MAX_EMBEDDING_ABS).all(axis=1) | (ids == 0)
    if not usable.all():
        raise f.fail(column, f"has NaN, inf or values beyond ±{MAX_EMBEDDING_ABS:g} in {int((~usable).sum()):,} "
                     f"row(s) (first at item_id {int(ids[np.argmin(usable)])})")
    _warn_coverage(f, len(ids), n_items, f"column '{column}' has vectors for", "the others get zero vectors")
    out = np.zeros((n_items, width), np.float32)
    out[ids] = cols[column]
    out[0] = 0.0
    return out


def _read_oracle_auc(root: Path, valid: Split) -> float | None:
    """The oracle AUC of mmbench's synthetic data. The file is optional and only ever informative: one
    that another tool wrote under the same name, or that is damaged, is ignored with a note; so is one
    that describes other data (another seed, scale or world: its fingerprint of the valid labels, or for
    a file written before the fingerprint, its valid row count, differs from valid.parquet's)."""
    path = root / schema.ORACLE_FILE
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
        if not str(facts.get("generator", "")).startswith("mmbench"):
            note(f"{path} was not written by mmbench (no 'generator: mmbench...'); it is ignored")
            return None
        auc = float(facts["valid_auc"])
        if not 0.0 <= auc <= 1.0:
            raise ValueError(f"valid_auc {auc} is not in [0, 1]")
        bound = facts.get(schema.ORACLE_BINDING)
        rows = facts.get("rows", {}).get("valid") if isinstance(facts.get("rows"), dict) else None
        if (bound is not None and bound != schema.labels_fingerprint(valid.label)) or (
                bound is None and rows is not None and int(rows) != len(valid)):
            note(f"{path} describes other data than the splits beside it (its valid labels differ from "
                 f"{schema.VALID.path}'s: another seed, scale or world?); the oracle AUC is left out")
            return None
        return auc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        note(f"{path} cannot be read ({short(str(exc), 120)}); the oracle AUC is left out")
        return None


def load_mmctr(root: Path, dataset_id: str) -> MMCTRData:
    """Load and validate a data root in the MMCTR layout (see ``mmbench/data/schema.py``)."""
    root = expand(root, "data root")
    _require_root(root)
    items = _read_items(root)
    splits = {name: _read_split(root, name, items.n_items) for name in ("train", "valid", "test")}
    n_rows = sum(len(s) for s in splits.values())
    for name, split in splits.items():
        _check_compact(_File(root, schema.SPLITS[name]), "user_id", split.user_id, n_rows, "rows in its splits")
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
        oracle_auc=_read_oracle_auc(root, splits["valid"]),
        test_labels=truth.known_test_labels(root, splits["test"].ids if splits["test"] is not None else None),
    )
