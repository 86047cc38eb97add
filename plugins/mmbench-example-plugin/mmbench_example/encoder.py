"""``hashed_bow``: each title as a hashed, signed bag of words, L2-normalised. No model weights."""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from mmbench.plugin import Encoder, bounded, check_bounds

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass
class HashedBowParams:
    dim: int = bounded(256, ge=2, le=2**20)  # number of hash buckets = output width
    lowercase: bool = True

    def __post_init__(self):
        check_bounds(self)


class HashedBowEncoder(Encoder):
    Params = HashedBowParams
    VERSION = 1  # bump when the output for the same params changes: it is part of the cache key

    def encode(self, items, ctx) -> np.ndarray:
        dim = self.params.dim
        rows, cols, signs = [], [], []
        for item_id, title in enumerate(items.titles):
            if item_id == 0:
                continue  # padding: row 0 stays zero
            text = title.lower() if self.params.lowercase else title
            for word in _WORD.findall(text):
                h = zlib.crc32(word.encode("utf-8"))  # stable across processes, unlike hash()
                rows.append(item_id)
                cols.append(h % dim)
                signs.append(1.0 if (h >> 31) & 1 else -1.0)
        out = np.zeros((items.n_items, dim), dtype=np.float32)
        np.add.at(out, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
                  np.asarray(signs, dtype=np.float32))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
