"""In-memory form of a MicroLens-1M dataset: columnar numpy arrays, never per-row Python objects."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import warn

SEQ_LEN = 64
N_TAG_SLOTS = 5
N_LEVELS = 11  # likes_level and views_level take values 0..10


@dataclass
class Split:
    """One of train / valid / test. Ids are int32 (they fit), levels int8, labels float32."""

    name: str
    user_id: np.ndarray  # (n,) int32
    item_seq: np.ndarray  # (n, SEQ_LEN) int32, left-padded with 0
    item_id: np.ndarray  # (n,) int32
    likes_level: np.ndarray  # (n,) int8
    views_level: np.ndarray  # (n,) int8
    label: np.ndarray | None = None  # (n,) float32; None for test
    ids: np.ndarray | None = None  # test only: the ``ID`` column, int64

    def __len__(self) -> int:
        return int(self.item_id.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        cols = {
            "user_id": self.user_id,
            "item_seq": self.item_seq,
            "item_id": self.item_id,
            "likes_level": self.likes_level,
            "views_level": self.views_level,
        }
        if self.label is not None:
            cols["label"] = self.label
        return cols

    def history_fingerprint(self) -> str:
        """Content hash of the histories (``item_seq``): part of the cache key of what learns from them."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.item_seq).tobytes())
        return h.hexdigest()

    def take(self, rows: np.ndarray | slice) -> "Split":
        return Split(
            self.name,
            self.user_id[rows],
            self.item_seq[rows],
            self.item_id[rows],
            self.likes_level[rows],
            self.views_level[rows],
            None if self.label is None else self.label[rows],
            None if self.ids is None else self.ids[rows],
        )


@dataclass
class ItemTable:
    """Item-side inputs, indexed by item id; row 0 is padding.

    ``titles[i]`` is the English title of item i ("" for padding and missing titles). ``image_path(i)``
    is where item i's cover should be (it may be missing: encoders count and fall back).
    ``load_shipped(file, column)`` reads one of the embeddings that ship with the data as float32
    (n_items, d), id-aligned, row 0 zero.
    """

    n_items: int  # including padding row 0
    item_tags: np.ndarray  # (n_items, N_TAG_SLOTS) int32, left-padded with 0
    likes_level: np.ndarray  # (n_items,) int8, from item_feature; 0 for padding
    views_level: np.ndarray  # (n_items,) int8
    titles: list[str]
    image_dir: Path | None
    load_shipped: Callable[[str, str], np.ndarray] | None = None
    source_files: list[Path] = field(default_factory=list)  # fingerprinted for cache keys
    # said once, on stderr, when an encoder asks for covers and there is no cover folder at all
    no_covers_warning: str = ""
    _fingerprint: str | None = field(default=None, repr=False)

    def image_path(self, item_id: int) -> Path | None:
        if self.image_dir is None:
            if self.no_covers_warning:
                warning, self.no_covers_warning = self.no_covers_warning, ""
                warn(warning)
            return None
        return self.image_dir / f"{item_id}.jpg"

    def fingerprint(self) -> str:
        """Content hash of the item inputs an encoder may read: titles, tags, levels, covers, files."""
        if self._fingerprint is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(np.int64(self.n_items).tobytes())
            for title in self.titles:
                h.update(title.encode("utf-8"))
                h.update(b"\x00")
            h.update(np.ascontiguousarray(self.item_tags).tobytes())
            h.update(np.ascontiguousarray(self.likes_level).tobytes())
            h.update(np.ascontiguousarray(self.views_level).tobytes())
            if self.image_dir is not None and self.image_dir.is_dir():
                # names and sizes of the covers: re-hashing 91k JPEGs on every run would cost more
                # than the check is worth, and a replaced cover almost always changes its size.
                for name, size in sorted(_entry_sizes(self.image_dir)):
                    h.update(f"{name}:{size};".encode())
            for path in self.source_files:
                if path.exists():
                    st = path.stat()
                    h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
            self._fingerprint = h.hexdigest()
        return self._fingerprint


def _entry_sizes(folder: Path):
    """(name, size) of each entry; one that cannot be stat'ed (a dangling link another tool left) is -1."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                yield entry.name, entry.stat().st_size
            except OSError:
                yield entry.name, -1


@dataclass
class MMCTRData:
    """A loaded dataset: splits, the item table and vocabulary sizes."""

    dataset_id: str
    root: Path
    train: Split
    valid: Split
    test: Split | None
    items: ItemTable
    n_users: int  # max user id + 1
    n_tags: int  # max tag id + 1
    seq_len: int = SEQ_LEN
    n_levels: int = N_LEVELS
    oracle_auc: float | None = None  # synthetic data only: AUC of the true click probabilities
    test_labels: np.ndarray | None = None  # int8, in the test split's row order, where the root knows them
