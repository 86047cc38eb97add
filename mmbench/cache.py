"""Content-addressed cache of expensive arrays (item embeddings, reductions).

``$MMBENCH_HOME/cache/<key>/vectors.npy`` beside ``meta.json`` (the key's inputs, shape, dtype and a
checksum). An entry whose checksum does not match is treated as absent and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_dir


def content_key(inputs: dict) -> str:
    """Stable hash of a JSON-able dict (sorted keys)."""
    blob = json.dumps(inputs, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _checksum(arr: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(arr).tobytes(), digest_size=16).hexdigest()


@dataclass
class CacheEntry:
    key: str
    path: Path
    meta: dict
    size_bytes: int


class ArrayCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        """Whether an entry exists (without reading or verifying it): for plans and dry runs."""
        return (self._dir(key) / "meta.json").exists()

    def load(self, key: str) -> np.ndarray | None:
        """The cached array, or None when absent or damaged (a damaged entry is removed)."""
        d = self._dir(key)
        meta_path, arr_path = d / "meta.json", d / "vectors.npy"
        if not (meta_path.exists() and arr_path.exists()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            arr = np.load(arr_path, allow_pickle=False)
            if list(arr.shape) != meta["shape"] or _checksum(arr) != meta["checksum"]:
                raise ValueError("checksum mismatch")
        except Exception:
            shutil.rmtree(d, ignore_errors=True)
            return None
        return arr

    def store(self, key: str, arr: np.ndarray, inputs: dict) -> None:
        meta = {
            "inputs": inputs,
            "shape": list(arr.shape),
            "dtype": str(arr.dtype),
            "checksum": _checksum(arr),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        try:
            with atomic_dir(self._dir(key)) as tmp:
                np.save(tmp / "vectors.npy", arr, allow_pickle=False)
                (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        except OSError:
            # another process stored the same key between our rmtree and rename: its entry is as good
            if self.load(key) is None:
                raise

    def get_or_compute(self, inputs: dict, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """Return (array, was_cached)."""
        key = content_key(inputs)
        cached = self.load(key)
        if cached is not None:
            return cached, True
        arr = compute()
        self.store(key, arr, inputs)
        return arr, False

    def entries(self) -> list[CacheEntry]:
        out = []
        if not self.root.exists():
            return out
        for d in sorted(self.root.iterdir()):
            meta_path = d / "meta.json"
            if not d.is_dir() or not meta_path.exists():
                continue
            try:
                meta = json.loads(meta_path.read_text())
            except Exception:
                meta = {}
            size = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
            out.append(CacheEntry(d.name, d, meta, size))
        return out

    def clear(self) -> int:
        """Remove every entry; return the bytes reclaimed."""
        total = sum(e.size_bytes for e in self.entries())
        if self.root.exists():
            shutil.rmtree(self.root)
        return total
