"""Content-addressed cache of expensive arrays (item embeddings, reductions).

``$MMBENCH_HOME/cache/<key>/vectors.npy`` beside ``meta.json`` (the key's inputs, shape, dtype and a
checksum). An entry whose checksum does not match is treated as absent and recomputed.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_dir
from ..errors import note, short

MAIN = "vectors"  # the main array of an entry (vectors.npy); an entry may hold more, by name


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
    linked: bool = False  # the entry's folder is a link (to a folder outside the cache, perhaps)


class ArrayCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        """Whether an entry exists (without reading or verifying it): for plans and dry runs."""
        return (self._dir(key) / "meta.json").exists()

    def load(self, key: str) -> np.ndarray | None:
        """The cached main array, or None when absent or damaged (a damaged entry is removed)."""
        entry = self.load_entry(key)
        return None if entry is None else entry[0][MAIN]

    def load_entry(self, key: str) -> tuple[dict[str, np.ndarray], dict] | None:
        """(arrays by name, info) of an entry, or None when absent or damaged (then it is removed)."""
        d = self._dir(key)
        if not (d / "meta.json").exists():
            return None
        try:
            meta = json.loads((d / "meta.json").read_text())
            parts = {MAIN: {k: meta[k] for k in ("shape", "checksum")}, **meta.get("parts", {})}
            arrays = {}
            for name, want in parts.items():
                arr = np.load(d / f"{name}.npy", allow_pickle=False)
                if list(arr.shape) != want["shape"] or _checksum(arr) != want["checksum"]:
                    raise ValueError("checksum mismatch")
                arrays[name] = arr
        except Exception:
            shutil.rmtree(d, ignore_errors=True)
            return None
        return arrays, meta.get("info", {})

    def store(self, key: str, arrays: np.ndarray | dict[str, np.ndarray], inputs: dict, info: dict | None = None,
              labels: dict | None = None) -> None:
        """Store one array, or several by name (``"vectors"`` is the main one), with JSON-able ``info``;
        ``labels`` (e.g. the dataset id) describe the entry for ``cache list/clear`` and are not in its key."""
        arrays = {MAIN: arrays} if isinstance(arrays, np.ndarray) else arrays
        describe = {name: {"shape": list(a.shape), "dtype": str(a.dtype), "checksum": _checksum(a)}
                    for name, a in arrays.items()}
        meta = {"inputs": inputs, **describe[MAIN], "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if len(arrays) > 1:
            meta["parts"] = {name: d for name, d in describe.items() if name != MAIN}
        if info:
            meta["info"] = info
        if labels:
            meta["labels"] = labels
        try:
            with atomic_dir(self._dir(key)) as tmp:
                for name, a in arrays.items():
                    np.save(tmp / f"{name}.npy", a, allow_pickle=False)
                (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        except OSError:
            # another process stored the same key between our rmtree and rename: its entry is as good
            if self.load_entry(key) is None:
                raise

    def get_or_compute(self, inputs: dict, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """Return (array, was_cached)."""
        arrays, _, hit = self.get_or_compute_entry(inputs, lambda: ({MAIN: compute()}, {}))
        return arrays[MAIN], hit

    def get_or_compute_entry(self, inputs: dict, compute: Callable[[], tuple[dict[str, np.ndarray], dict]],
                             labels: dict | None = None):
        """(arrays by name, info, was_cached); ``compute`` returns (arrays with a ``"vectors"`` entry, info)."""
        key = content_key(inputs)
        cached = self.load_entry(key)
        if cached is not None:
            return (*cached, True)
        arrays, info = compute()
        self.store(key, arrays, inputs, info, labels)
        return arrays, info, False

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
            out.append(CacheEntry(d.name, d, meta, size, d.is_symlink()))
        return out

    def clear(self, **where: str | None) -> tuple[int, int]:
        """Remove the entries whose ``facts`` match every given filter (fnmatch patterns: stage, dataset,
        encoder, reducer), or everything when none is given; return (entries, bytes) removed."""
        where = {k: v for k, v in where.items() if v}
        entries = self.entries()
        if not where and not self.root.is_symlink():
            if self.root.exists():
                shutil.rmtree(self.root)  # removes links inside it, never what they point to
            return len(entries), sum(e.size_bytes for e in entries)
        facts = entry_facts(entries)
        chosen = [e for e in entries if matches(facts[e.key], where)]
        for e in chosen:
            _remove(e.path)
        if self.root.is_symlink():  # only its entries: the link may point at a folder that holds more
            note(f"the cache folder {short(str(self.root), 200)} is a link to "
                 f"{short(os.path.realpath(self.root), 200)}: its cache entries were removed there, the link and "
                 "anything else in that folder kept")
        if any(e.linked for e in chosen):
            note(f"{sum(e.linked for e in chosen)} cache entries were links: the links were removed, not the "
                 "folders they point to")
        return len(chosen), sum(e.size_bytes for e in chosen)


def _remove(path: Path) -> None:
    """One cache entry: a link is unlinked (what it points to is not the cache's to delete), a folder removed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


FACTS = ("stage", "dataset", "encoder", "reducer")


def matches(facts: dict, where: dict) -> bool:
    """Every filter (an fnmatch pattern) matches a known fact; an unknown fact matches no filter."""
    return all(facts[k] is not None and fnmatch.fnmatchcase(facts[k], v) for k, v in where.items() if v)


def entry_facts(entries: list[CacheEntry]) -> dict[str, dict[str, str | None]]:
    """key -> what each entry holds: stage, dataset, encoder, reducer (None where unknown or not
    applicable). A reduction names neither dataset nor encoder in its key: both come from the encoding it
    was computed from, whose key is the reduction's ``vectors`` input."""
    by_key = {e.key: e for e in entries}
    out = {}
    for e in entries:
        inputs, labels = e.meta.get("inputs", {}), e.meta.get("labels", {})
        parent = by_key.get(inputs.get("vectors", ""))
        source = parent.meta if parent is not None else {}
        out[e.key] = {
            "stage": inputs.get("stage"),
            "dataset": labels.get("dataset") or source.get("labels", {}).get("dataset"),
            "encoder": inputs.get("encoder") or source.get("inputs", {}).get("encoder"),
            "reducer": inputs.get("reducer"),
        }
    return out
