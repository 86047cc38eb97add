"""Cover JPEGs for synthetic items.

Hue and pattern encode the item's topic; brightness and saturation encode its hidden *appeal*, which
also drives clicks and appears in no title, so only an image encoder can read it off the content.
Images are drawn in numpy batches; each batch has its own seeded generator, so the bytes do not
depend on how batches are spread over worker processes.
"""
from __future__ import annotations

import io
import os
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

BATCH = 512
N_PATTERNS = 6
JPEG_QUALITY = 90


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV (all in [0, 1]) -> RGB in [0, 1], shape (..., 3)."""
    i = np.floor(h * 6.0).astype(np.int64) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.empty(h.shape + (3,))
    for k, (r, g, b) in enumerate(choices):
        sel = i == k
        out[sel] = np.stack([r[sel], g[sel], b[sel]], axis=-1)
    return out


def _masks(pattern: np.ndarray, freq: np.ndarray, phase: np.ndarray, size: int) -> np.ndarray:
    """(B, size, size) foreground masks in [0, 1], one pattern family per topic."""
    coords = np.linspace(0.0, 1.0, size, endpoint=False, dtype=np.float32)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    r = np.sqrt((x - 0.5) ** 2 + (y - 0.5) ** 2)
    two_pi = np.float32(2 * np.pi)
    out = np.empty((len(pattern), size, size), np.float32)
    for k in range(N_PATTERNS):
        sel = np.flatnonzero(pattern == k)
        if not len(sel):
            continue
        f = freq[sel, None, None].astype(np.float32) * two_pi
        ph = phase[sel, None, None].astype(np.float32)
        if k == 0:  # horizontal stripes
            wave = np.sin(f * y + ph)
        elif k == 1:  # vertical stripes
            wave = np.sin(f * x + ph)
        elif k == 2:  # diagonal stripes
            wave = np.sin(f * (x + y) / 1.4 + ph)
        elif k == 3:  # rings
            wave = np.sin(f * r * 1.5 + ph)
        elif k == 4:  # checkerboard
            wave = np.sin(f * x / 2 + ph) * np.sin(f * y / 2 + ph)
        else:  # dots
            wave = np.cos(f * x + ph) + np.cos(f * y + ph) - 1.0
        out[sel] = wave
    return 1.0 / (1.0 + np.exp(-6.0 * out))  # soft edges


def draw_covers(topics: np.ndarray, appeal: np.ndarray, n_topics: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(B, size, size, 3) uint8 covers for a batch of items."""
    b = len(topics)
    strength = 1.0 / (1.0 + np.exp(-1.5 * appeal))  # 0..1, high appeal = bright and vivid
    hue = (topics / n_topics + rng.normal(0, 0.01, b)) % 1.0
    sat = 0.3 + 0.65 * strength
    val = 0.3 + 0.65 * strength
    fg = _hsv_to_rgb(hue, sat, val)
    bg = _hsv_to_rgb((hue + 0.5) % 1.0, sat * 0.5, val * 0.55)
    mask = _masks(topics % N_PATTERNS, rng.uniform(2.5, 5.0, b), rng.uniform(0, 2 * np.pi, b), size)
    fg, bg = fg.astype(np.float32)[:, None, None, :], bg.astype(np.float32)[:, None, None, :]
    img = bg + mask[..., None] * (fg - bg)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.03)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _write_batch(out_dir: str, seed: int, batch_no: int, item_ids: np.ndarray, topics: np.ndarray,
                 appeal: np.ndarray, n_topics: int, size: int) -> int:
    rng = np.random.default_rng([seed, 0xC0BE, batch_no])
    images = draw_covers(topics, appeal, n_topics, size, rng)
    for item_id, pixels in zip(item_ids.tolist(), images):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=JPEG_QUALITY)
        with open(os.path.join(out_dir, f"{item_id}.jpg"), "wb") as fh:
            fh.write(buf.getvalue())
    return len(item_ids)


class CoverWriter:
    """Writes ``{item_id}.jpg`` for items 1..N; with ``workers > 0`` in background processes, so the
    caller can write parquet files meanwhile. ``wait()`` returns once every cover is on disk."""

    def __init__(self, out_dir: Path, seed: int, topics: np.ndarray, appeal: np.ndarray, n_topics: int,
                 size: int, workers: int = 0):
        out_dir.mkdir(parents=True, exist_ok=True)
        n = len(topics)
        jobs = []
        for batch_no, start in enumerate(range(0, n, BATCH)):
            sl = slice(start, min(start + BATCH, n))
            ids = np.arange(sl.start + 1, sl.stop + 1)  # topics[0] belongs to item 1
            jobs.append((str(out_dir), seed, batch_no, ids, topics[sl], appeal[sl], n_topics, size))
        self._pool = None
        self._futures: list[Future] = []
        if workers > 0:
            self._pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"))
            self._futures = [self._pool.submit(_write_batch, *job) for job in jobs]
        else:
            for job in jobs:
                _write_batch(*job)

    def wait(self) -> None:
        if self._pool is None:
            return
        try:
            for fut in self._futures:
                fut.result()
        finally:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
