"""Writing a synthetic data root in the MMCTR layout; shared by every synthetic world.

A world hands over plain arrays (item content, every user's click sequence as offsets + flat ids, and
rows as user / cutoff / target / label); this module turns them into exactly the files of
``schema.py``, chunk by chunk, and renames the finished folder into place.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmbench.files.atomic import clean_leftovers, writer_tag
from mmbench.errors import DataError
from mmbench.files.userpaths import expand
from mmbench.data import schema
from mmbench.data.sequences import history  # noqa: F401  (the generators' history helper)
from mmbench.data.truth import TRUTH_DIR  # noqa: F401  (the generators write the truth tables there)

ROW_CHUNK = 262_144


def fixed(matrix: np.ndarray, value_type: pa.DataType) -> pa.FixedSizeListArray:
    flat = pa.array(np.ascontiguousarray(matrix).reshape(-1), type=value_type)
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])


def write_file(root: Path, spec: schema.FileSpec, columns: dict[str, pa.Array]) -> None:
    path = root / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_arrays([columns[n] for n in spec.names], schema=spec.arrow_schema())
    pq.write_table(table, path)


def write_split(root: Path, name: str, user: np.ndarray, cutoff: np.ndarray, target: np.ndarray,
                label: np.ndarray | None, seq_start: np.ndarray, seq_flat: np.ndarray,
                likes: np.ndarray, views: np.ndarray) -> None:
    """Rows chunk by chunk, so the int64 (n, 64) history never exists in full. ``user`` is 0-based
    (user id = user + 1); ``likes``/``views`` are the items' levels, id-aligned with padding."""
    spec = schema.SPLITS[name]
    path = root / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, spec.arrow_schema()) as writer:
        for start in range(0, len(user), ROW_CHUNK):
            sl = slice(start, start + ROW_CHUNK)
            u, t = user[sl], target[sl]
            cols = {
                "ID": pa.array(np.arange(sl.start, sl.start + len(u), dtype=np.int64)),
                "user_id": pa.array(u.astype(np.int64) + 1),
                "item_seq": fixed(history(seq_start, seq_flat, u, cutoff[sl]).astype(np.int64), pa.int64()),
                "item_id": pa.array(t.astype(np.int64)),
                "likes_level": pa.array(likes[t]),
                "views_level": pa.array(views[t]),
            }
            if label is not None and name != "test":
                cols["label"] = pa.array(label[sl].astype(np.int64))
            writer.write_table(pa.Table.from_arrays([cols[n] for n in spec.names], schema=spec.arrow_schema()))


def write_items(root: Path, tags: np.ndarray, likes_level: np.ndarray, views_level: np.ndarray,
                titles: list[str], emb: dict[str, np.ndarray]) -> None:
    """item_info, item_feature and item_emb for items 1..N (arrays hold item 1 at index 0)."""
    n = len(tags)
    ids = pa.array(np.arange(1, n + 1, dtype=np.int64))
    pad = lambda m: np.concatenate([np.zeros((1, m.shape[1]), m.dtype), m])  # noqa: E731
    write_file(root, schema.ITEM_INFO, {
        "item_id": pa.array(np.arange(n + 1, dtype=np.int64)),
        "item_tags": fixed(pad(tags), pa.int64()),
        "item_emb_d128": fixed(pad(emb["item_emb_d128"].astype(np.float64)), pa.float64()),
    })
    present = tags > 0
    tag_lists = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int32)),
        pa.array(tags[present], type=pa.int64()),
    )
    write_file(root, schema.ITEM_FEATURE, {
        "item_id": ids,
        "item_title": pa.array(titles, type=pa.string()),
        "item_tags": tag_lists,
        "likes_level": pa.array(likes_level),
        "views_level": pa.array(views_level),
        "txt_emb_BERT": fixed(emb["txt_emb_BERT"], pa.float32()),
        "img_emb_CLIPRN50": fixed(emb["img_emb_CLIPRN50"], pa.float32()),
    })
    write_file(root, schema.ITEM_EMB, {"item_id": ids, **{
        c.name: fixed(emb[c.name], pa.float32()) for c in schema.ITEM_EMB.columns if c.name != "item_id"
    }})


def write_item_seq(root: Path, seq_start: np.ndarray, seq_flat: np.ndarray) -> None:
    write_file(root, schema.ITEM_SEQ, {
        "user_id": pa.array(np.arange(1, len(seq_start), dtype=np.int64)),
        "item_seq": pa.ListArray.from_arrays(pa.array(seq_start.astype(np.int32)), pa.array(seq_flat.astype(np.int64))),
    })


def identity_facts(n_items: int, n_users: int, n_tags: int, n_topics: int, scale: str, seed: int,
                   generator: str, version: str) -> dict:
    """The part of ``oracle.json`` that says what was generated (sizes, scale, seed, generator)."""
    return {"n_items": n_items, "n_users": n_users, "n_tags": n_tags, "n_topics": n_topics, "scale": scale,
            "seed": seed, "generator": generator, "generator_version": version}


def build_atomically(out_dir: Path, overwrite: bool, fill: Callable[[Path], dict]) -> dict:
    """Run ``fill(tmp)`` on a fresh temporary folder beside ``out_dir`` and rename it into place, so
    ``out_dir`` either does not exist or holds a complete dataset. Returns what ``fill`` returns."""
    out_dir = expand(out_dir, "--out").absolute()
    if out_dir.exists() and not overwrite:
        raise DataError(f"{out_dir} already exists; delete it or choose another output folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(out_dir.parent, out_dir.name)  # what a killed generation of it left behind
    tmp = out_dir.parent / f".{out_dir.name}.{writer_tag()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        facts = fill(tmp)
        if out_dir.exists():
            trash = out_dir.parent / f".{out_dir.name}.{writer_tag()}.old"
            out_dir.rename(trash)
            tmp.rename(out_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return facts

