"""Machinery every content encoder shares: devices, batch sizes, cover loading, title batches,
fusion, progress and the counting of missing content.

A backbone (CLIP, OpenCLIP, a text model) is wrapped as ``Towers``: tokenize + encode_text and/or an
image transform + encode_image. ``encode_with_towers`` then does the rest the same way for all of them.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Literal

import numpy as np

from mmbench.data.types import ItemTable
from mmbench.errors import ConfigError

MODALITIES = ("text", "image", "fused")
BLANK_RGB = (128, 128, 128)  # a blank mid-grey cover stands in for a missing or unreadable one

# per device: (image batch, text batch). CPU batches stay small so progress moves and memory stays flat.
DEFAULT_BATCH = {"cuda": (512, 1024), "mps": (128, 256), "cpu": (32, 128)}

STATUS_OK, STATUS_MISSING, STATUS_CORRUPT = 0, 1, 2


@dataclass
class ContentParams:
    """Parameters every content encoder shares (modality, fusion, batching, fallbacks, device)."""

    modality: Literal["text", "image", "fused"] = "fused"
    fusion: Literal["concat", "mean"] = "concat"  # how text and image vectors combine when fused
    image_fallback: Literal["blank", "zeros"] = "blank"  # missing/corrupt cover: grey image, or a zero vector
    title_fallback: str = ""  # encoded in place of an empty title
    batch_size: int = 0  # 0 = per-device default
    text_batch_size: int = 0  # 0 = per-device default
    num_workers: int = -1  # JPEG decode processes; -1 = auto (0 on a 2-core machine)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto = bf16 autocast on CUDA, fp32 elsewhere
    device: str = "auto"

    def check_content(self):
        if self.batch_size < 0 or self.text_batch_size < 0:
            raise ValueError("batch_size and text_batch_size must be >= 0 (0 = per-device default)")
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}")


# ---------------------------------------------------------------- devices and batches

def pick_device(name: str = "auto"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"encoder.device={name!r} but no CUDA device is available; use device: auto or cpu")
    return torch.device(name)


def batch_sizes(params: ContentParams, device) -> tuple[int, int]:
    image_default, text_default = DEFAULT_BATCH.get(device.type, DEFAULT_BATCH["cpu"])
    return params.batch_size or image_default, params.text_batch_size or text_default


def num_workers(requested: int, device) -> int:
    if requested >= 0:
        return requested
    cores = os.cpu_count() or 1
    # one worker even on 2 cores: decode overlaps the model, and a worker's torch runs single-threaded
    # (the tiny tensor ops of a transform are ~10x slower with several threads on a busy CPU)
    # on a GPU machine JPEG decoding is the bottleneck: every spare core decodes
    return 1 if cores <= 2 else min(cores - 1 if device.type == "cuda" else 4, 32)


def autocast(device, precision: str):
    """A context manager: bf16/fp16 autocast on CUDA, nothing elsewhere (CPU autocast is slower)."""
    import contextlib

    import torch

    if device.type != "cuda" or precision == "fp32":
        return contextlib.nullcontext()
    if precision == "auto":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def quiet_transformers() -> None:
    """transformers' own tqdm bars would tear through the rich progress display."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


# ---------------------------------------------------------------- covers

def open_cover(path, draft_size: int | None = None):
    """(PIL RGB image, status). JPEG draft mode decodes at reduced scale: far less work for a 224 crop."""
    from PIL import Image

    if path is None or not os.path.exists(path):
        return Image.new("RGB", (draft_size or 224,) * 2, BLANK_RGB), STATUS_MISSING
    try:
        with Image.open(path) as img:
            if draft_size and img.format == "JPEG":
                img.draft("RGB", (draft_size, draft_size))
            return img.convert("RGB"), STATUS_OK
    except Exception:  # truncated, not an image, unreadable: any of these is a corrupt cover
        return Image.new("RGB", (draft_size or 224,) * 2, BLANK_RGB), STATUS_CORRUPT


class CoverDataset:
    """Covers of the given item ids, decoded and transformed (in DataLoader workers when there are any)."""

    def __init__(self, items: ItemTable, item_ids: np.ndarray, transform: Callable, draft_size: int | None = None):
        self.paths = [None if (p := items.image_path(int(i))) is None else str(p) for i in item_ids]
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        img, status = open_cover(self.paths[index], self.draft_size)
        return self.transform(img), status


def cover_loader(items: ItemTable, item_ids: np.ndarray, transform: Callable, batch_size: int, workers: int,
                 draft_size: int | None = None, pin_memory: bool = False):
    """Batches of (pixels (B, 3, H, W), status (B,)) in the order of ``item_ids``."""
    from torch.utils.data import DataLoader

    loader = DataLoader(CoverDataset(items, item_ids, transform, draft_size), batch_size=batch_size, shuffle=False,
                        num_workers=workers, pin_memory=pin_memory, persistent_workers=False,
                        prefetch_factor=4 if workers else None)
    return loader if workers else _single_threaded(loader)


def _single_threaded(loader):
    """Decode in this process with torch at one thread (as DataLoader workers do), then restore it."""
    import torch

    it = iter(loader)
    while True:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            batch = next(it)
        except StopIteration:
            return
        finally:
            torch.set_num_threads(threads)
        yield batch


# ---------------------------------------------------------------- titles

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


# ---------------------------------------------------------------- fusion

def l2_normalize(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


def fuse(text: np.ndarray, image: np.ndarray, how: str) -> np.ndarray:
    """Combine L2-normalised text and image vectors row by row (rows that are zero stay zero)."""
    text, image = l2_normalize(text), l2_normalize(image)
    if how == "concat":
        return np.concatenate([text, image], axis=1).astype(np.float32)
    if text.shape[1] != image.shape[1]:
        raise ConfigError(f"fusion: mean needs equal text and image widths, got {text.shape[1]} and "
                          f"{image.shape[1]}; use fusion: concat")
    return ((text + image) / 2).astype(np.float32)


# ---------------------------------------------------------------- progress

class Meter:
    """A rich progress task showing items/s (in the ``loss`` field the CLI's progress displays)."""

    def __init__(self, progress, description: str, total: int):
        self.progress, self.t0, self.done = progress, time.perf_counter(), 0
        self.task = progress.add_task(description, total=total, loss="") if progress is not None else None

    def advance(self, n: int) -> None:
        self.done += n
        if self.task is not None:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            self.progress.update(self.task, advance=n, loss=f"{rate:,.0f} items/s")

    def close(self) -> float:
        """Remove the task; return items/s."""
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        return self.done / max(time.perf_counter() - self.t0, 1e-9)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- the shared encoding loop

class Towers:
    """What a backbone offers: any of text and image encoding. Outputs are (B, d) float tensors."""

    text_dim: int = 0
    image_dim: int = 0
    image_transform: Callable | None = None
    draft_size: int | None = 256
    module = None  # the torch module (moved to the device, fine-tuned)

    def tokenize(self, texts: list[str]) -> dict:
        raise NotImplementedError

    def encode_text(self, tokens: dict):
        raise NotImplementedError

    def encode_image(self, pixels):
        raise NotImplementedError

    def identity(self) -> dict:
        """What determines the weights (for the fine-tune cache key)."""
        raise NotImplementedError


@dataclass
class Timing:
    """Seconds spent, for ``mmbench bench encode``: waiting for decoded covers vs in the model."""

    decode: float = 0.0
    image_model: float = 0.0
    tokenize: float = 0.0
    text_model: float = 0.0
    n_images: int = 0
    n_titles: int = 0


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def encode_titles(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                  timing: Timing | None = None) -> np.ndarray:
    import torch

    titles, empty = titles_with_fallback(items, params.title_fallback)
    ctx.stats["missing_titles"] = int(empty.sum())
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


def encode_covers(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                  timing: Timing | None = None, limit: int | None = None) -> np.ndarray:
    import torch

    item_ids = np.arange(1, items.n_items if limit is None else min(items.n_items, limit + 1))
    image_batch, _ = batch_sizes(params, device)
    workers = num_workers(params.num_workers, device)
    loader = cover_loader(items, item_ids, towers.image_transform, image_batch, workers, towers.draft_size,
                          pin_memory=device.type == "cuda")
    out = np.zeros((items.n_items, towers.image_dim), dtype=np.float32)
    status = np.zeros(len(item_ids), dtype=np.int8)
    timing = timing or Timing()
    start = 0
    with Meter(ctx.progress, "encode covers", len(item_ids)) as meter, torch.inference_mode():
        t_wait = time.perf_counter()
        for pixels, batch_status in loader:
            t0 = time.perf_counter()
            pixels = pixels.to(device, non_blocking=True)
            with autocast(device, params.precision):
                vecs = towers.encode_image(pixels)
            n = len(batch_status)
            out[item_ids[start : start + n]] = vecs.float().cpu().numpy()
            status[start : start + n] = batch_status.numpy()
            t1 = time.perf_counter()
            timing.decode += t0 - t_wait
            timing.image_model += t1 - t0
            timing.n_images += n
            start += n
            meter.advance(n)
            t_wait = time.perf_counter()
    bad = status != STATUS_OK
    if params.image_fallback == "zeros":
        out[item_ids[bad]] = 0.0
    ctx.stats["missing_images"] = int(bad.sum())
    ctx.stats["corrupt_images"] = int((status == STATUS_CORRUPT).sum())
    return out


def encode_with_towers(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                       normalize: bool = True, timing: Timing | None = None) -> np.ndarray:
    """(n_items, d) float32, row 0 zero: text, image or the fusion of both, per ``params.modality``."""
    text = image = None
    if params.modality in ("text", "fused"):
        text = encode_titles(towers, items, params, device, ctx, timing)
    if params.modality in ("image", "fused"):
        image = encode_covers(towers, items, params, device, ctx, timing)
    if text is not None and image is not None:
        out = fuse(text, image, params.fusion)
    else:
        out = text if text is not None else image
        if normalize:
            out = l2_normalize(out).astype(np.float32)
    out[0] = 0.0
    return out
