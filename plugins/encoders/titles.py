"""Item titles to vectors: fallbacks for empty titles, length-bucketed batches, the text tower's loop."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator

import numpy as np

from mmbench.data.types import ItemTable

from .device import autocast, batch_sizes
from .progress import Meter, Timing

if TYPE_CHECKING:
    from .common import ContentParams, Towers


def titles_with_fallback(items: ItemTable, fallback: str) -> tuple[list[str], np.ndarray]:
    """Titles of items 1..n-1 (empty ones replaced by ``fallback``) and the mask of the empty ones."""
    titles = items.titles[1:]
    empty = np.fromiter((not t or not t.strip() for t in titles), dtype=bool, count=len(titles))
    return [fallback if e else t for t, e in zip(titles, empty)], empty


def length_buckets(titles: list[str], batch_size: int) -> Iterator[np.ndarray]:
    """Positions into ``titles``, sorted by length and cut into batches: little padding per batch."""
    order = np.argsort(np.fromiter(map(len, titles), dtype=np.int64, count=len(titles)), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def encode_titles(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                  timing: Timing | None = None, stats: dict | None = None) -> np.ndarray:
    """Title vectors (n_items, text_dim), row 0 zero; ``stats`` gets ``missing_titles``."""
    import torch

    titles, empty = titles_with_fallback(items, params.title_fallback)
    if stats is not None:
        stats["missing_titles"] = int(empty.sum())
    _, text_batch = batch_sizes(params, device)
    out = np.zeros((items.n_items, towers.text_dim), dtype=np.float32)
    timing = timing or Timing()
    with Meter(ctx.progress, "encode titles", len(titles)) as meter, torch.inference_mode():
        for rows in length_buckets(titles, text_batch):
            t0 = time.perf_counter()
            tokens = {k: v.to(device, non_blocking=True) for k, v in towers.tokenize([titles[i] for i in rows]).items()}
            t1 = time.perf_counter()
            with autocast(device, params.precision):
                vecs = towers.encode_text(tokens)
            out[rows + 1] = vecs.float().cpu().numpy()  # .cpu() waits for the device
            timing.tokenize += t1 - t0
            timing.text_model += time.perf_counter() - t1
            timing.n_titles += len(rows)
            meter.advance(len(rows))
    return out
