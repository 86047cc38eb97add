"""The data a training benchmark runs on, written once as .npy files so that each side (mmbench and
FuxiCTR) loads exactly the same arrays in its own process."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.types import Split

SPLIT_COLUMNS = ("user_id", "item_seq", "item_id", "likes_level", "views_level", "label")
ITEM_COLUMNS = ("item_tags", "item_likes", "item_views", "item_vectors")


def save(folder: Path, train: Split, valid: Split, items, vectors: np.ndarray, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in (train, valid):
        for col, values in split.columns().items():
            np.save(folder / f"{split.name}.{col}.npy", values)
    np.save(folder / "items.item_tags.npy", items.item_tags)
    np.save(folder / "items.item_likes.npy", items.likes_level)
    np.save(folder / "items.item_views.npy", items.views_level)
    np.save(folder / "items.item_vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


def load_split(folder: Path, name: str) -> Split:
    cols = {c: np.load(folder / f"{name}.{c}.npy") for c in SPLIT_COLUMNS}
    return Split(name, **cols)


def load_items(folder: Path) -> dict[str, np.ndarray]:
    return {c: np.load(folder / f"items.{c}.npy") for c in ITEM_COLUMNS}


def load_meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


def peak_memory_mb(device) -> float:
    """Peak RSS of this process (CPU) or peak allocated CUDA memory, in MiB."""
    import resource

    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def gemm_rate(meta: dict) -> dict:
    """This process's fp32 rate at the shape that bounds the model (when the workload has a floor):
    the machine's peak is the best any process saw, since other jobs may share the CPU."""
    floor = meta.get("floor")
    if not floor:
        return {}
    from .flops import gemm_gflops

    return {"gemm_gflops": gemm_gflops(meta["train"]["batch_size"], int(floor["flops"]["gemm_width"]))}


class StepClock:
    """Durations of optimizer steps (batch gathering included), measured from the start of each
    epoch so that evaluation is never inside an interval; the first ``warmup`` steps are skipped."""

    def __init__(self, warmup: int, sync=None):
        self.warmup, self.sync = warmup, sync
        self.durations: list[float] = []
        self.samples = 0
        self.steps = 0
        self._last: float | None = None

    def _now(self) -> float:
        import time

        if self.sync is not None:
            self.sync()
        return time.perf_counter()

    def epoch_start(self) -> None:
        self._last = self._now()

    def tick(self, batch_rows: int) -> None:
        now = self._now()
        self.steps += 1
        if self._last is not None and self.steps > self.warmup:
            self.durations.append(now - self._last)
            self.samples += batch_rows
        self._last = now

    def samples_per_second(self) -> float | None:
        """None when no step came after the warm-up (JSON null, "not timed" in the table)."""
        return self.samples / sum(self.durations) if self.durations else None


def write_challenge_parquet(folder: Path, out: Path) -> dict[str, str]:
    """train/valid/item_info in the challenge's layout (int64 columns, list columns), as the published
    loader reads them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("train", "valid"):
        s = load_split(folder, name)
        seq = np.ascontiguousarray(s.item_seq, np.int64)
        table = pa.table({
            "user_id": s.user_id.astype(np.int64),
            "item_seq": pa.FixedSizeListArray.from_arrays(pa.array(seq.reshape(-1)), seq.shape[1]),
            "likes_level": s.likes_level.astype(np.int64),
            "views_level": s.views_level.astype(np.int64),
            "item_id": s.item_id.astype(np.int64),
            "label": s.label.astype(np.int64),
        })
        pq.write_table(table, out / f"{name}.parquet")
        paths[f"{name}_data"] = str(out / f"{name}.parquet")
    items = load_items(folder)
    tags = np.ascontiguousarray(items["item_tags"], np.int64)
    vecs = np.ascontiguousarray(items["item_vectors"], np.float32)
    pq.write_table(pa.table({
        "item_id": np.arange(len(tags), dtype=np.int64),
        "item_tags": pa.FixedSizeListArray.from_arrays(pa.array(tags.reshape(-1)), tags.shape[1]),
        "item_emb_d128": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), vecs.shape[1]),
    }), out / "item_info.parquet")
    paths["item_info"] = str(out / "item_info.parquet")
    return paths
