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
    # where covers are decoded: pil = PIL (JPEG draft mode) in DataLoader workers; device = torchvision's
    # decode_jpeg on the encoder's device (nvJPEG on CUDA), resized there too; auto = pil
    decode: Literal["auto", "pil", "device"] = "auto"
    # where covers decoded by PIL are resized and cropped: workers = the backbone's own transform, in the
    # DataLoader workers; device = antialiased bicubic on the encoder's device (workers only decode, in
    # JPEG draft mode: twice the covers per core); auto = device on CUDA, workers elsewhere.
    # decode: device always resizes on the device.
    resize: Literal["auto", "workers", "device"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto = bf16 autocast on CUDA, fp32 elsewhere
    device: str = "auto"

    def check_content(self):
        if self.batch_size < 0 or self.text_batch_size < 0:
            raise ValueError("batch_size and text_batch_size must be >= 0 (0 = per-device default)")
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}")
        if self.decode == "device" and self.resize == "workers":
            raise ValueError("resize: workers needs decode: pil (decode: device resizes on the device)")


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


def cover_paths(items: ItemTable, item_ids: np.ndarray) -> list[str | None]:
    """The cover file of each item id (None where the dataset has none)."""
    return [None if (p := items.image_path(int(i))) is None else str(p) for i in item_ids]


class CoverDataset:
    """Covers of the given item ids, decoded and transformed (in DataLoader workers when there are any)."""

    def __init__(self, items: ItemTable, item_ids: np.ndarray, transform: Callable, draft_size: int | None = None):
        self.paths = cover_paths(items, item_ids)
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        img, status = open_cover(self.paths[index], self.draft_size)
        return self.transform(img), status


def hwc_uint8(img):
    """A PIL RGB image as a uint8 (H, W, 3) tensor."""
    import torch

    return torch.from_numpy(np.array(img, dtype=np.uint8, copy=True))


class _HWCBytes:
    """PIL geometry (resize, crop, mode), then the image as uint8 (H, W, 3)."""

    def __init__(self, geometry: Callable):
        self.geometry = geometry

    def __call__(self, img):
        return hwc_uint8(self.geometry(img))


class Normalise255:
    """uint8-range pixels → the backbone's normalised floats, ``(x - 255 mean) / (255 std)`` per channel."""

    def __init__(self, mean, std, device):
        import torch

        shape = (1, 3, 1, 1)
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=device).view(shape) * 255.0
        self.inv_std = 1.0 / (torch.as_tensor(std, dtype=torch.float32, device=device).view(shape) * 255.0)

    def __call__(self, x):
        """``x``: float (B, 3, H, W); a new tensor is returned."""
        return (x - self.mean).mul_(self.inv_std)


class CoverPixels:
    """How covers travel from decode workers to the image tower.

    A backbone's transform that ends in ``ToTensor, Normalize`` (CLIP's and open_clip's do) is split:
    workers run only its PIL part and ship uint8 HWC bytes, and ``to_model`` converts and normalises the
    whole batch on the device. That is a quarter of the bytes through shared memory and pinned copies,
    and 1.1-1.3x the covers per decode core (per-image float conversion and normalisation are dropped).
    Any other transform runs whole in the workers, as given.
    """

    def __init__(self, transform: Callable):
        from torchvision import transforms as T

        self.mean_std = None  # of the Normalize split off the transform
        self._normalise: Normalise255 | None = None
        self.worker_transform = transform
        steps = list(getattr(transform, "transforms", []))
        if (len(steps) >= 2 and isinstance(steps[-2], T.ToTensor) and isinstance(steps[-1], T.Normalize)
                and not any(isinstance(t, (T.ToTensor, T.Normalize)) for t in steps[:-2])):
            self.worker_transform = _HWCBytes(T.Compose(steps[:-2]))
            self.mean_std = (steps[-1].mean, steps[-1].std)

    @property
    def uint8(self) -> bool:
        return self.mean_std is not None

    def to_model(self, pixels, device):
        """A loader batch → model-ready float (B, 3, H, W) on ``device``."""
        pixels = pixels.to(device, non_blocking=True)
        if not self.uint8:
            return pixels
        if self._normalise is None or self._normalise.mean.device != pixels.device:
            self._normalise = Normalise255(*self.mean_std, device)
        return self._normalise(pixels.permute(0, 3, 1, 2).float())


# ---------------------------------------------------------------- covers decoded on the device

@dataclass
class CoverGeometry:
    """What a CLIP-style transform does to a cover: shortest side to ``size`` (bicubic), centre crop,
    normalise. Read from the backbone's own transform, so the device path computes the same pixels."""

    size: int
    crop: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_transform(cls, transform) -> "CoverGeometry":
        from torchvision import transforms as T

        steps = list(getattr(transform, "transforms", []))
        resize = [t for t in steps if isinstance(t, T.Resize)]
        crop = [t for t in steps if isinstance(t, T.CenterCrop)]
        norm = [t for t in steps if isinstance(t, T.Normalize)]
        size = resize[0].size if len(resize) == 1 else None
        size = size[0] if isinstance(size, (list, tuple)) and len(size) == 1 else size
        if (not isinstance(size, int) or len(crop) != 1 or len(norm) != 1
                or resize[0].interpolation != T.InterpolationMode.BICUBIC):
            raise ConfigError(f"encoder.decode=device needs a resize-shortest-side (bicubic), centre-crop, normalise "
                              f"image transform; this backbone's is {transform!r}; use decode: pil")
        return cls(size, tuple(crop[0].size), tuple(norm[0].mean), tuple(norm[0].std))


class CoverFileBytes:
    """The raw file bytes of each cover (uint8, 1-d), for decoding on the device."""

    def __init__(self, items: ItemTable, item_ids: np.ndarray):
        self.paths = cover_paths(items, item_ids)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        import torch

        path = self.paths[index]
        try:
            with open(path, "rb") as f:
                data = bytearray(f.read())
        except (TypeError, OSError):
            return torch.empty(0, dtype=torch.uint8), STATUS_MISSING
        return torch.frombuffer(data, dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8), STATUS_OK


def _collate_list(batch):
    """Covers of different sizes (or file lengths) travel as a list, their statuses as one tensor."""
    import torch

    return [x for x, _ in batch], torch.tensor([s for _, s in batch], dtype=torch.int8)


def _torchvision_io():
    """torchvision's image decoders, with their deprecation notice silenced: torchvision 0.29 (the pinned
    version) announces a move to TorchCodec but decodes as before."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import ImageReadMode, decode_image, decode_jpeg
    return ImageReadMode, decode_image, decode_jpeg


def _quiet(fn, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TorchVision are deprecated", category=DeprecationWarning)
        return fn(*args, **kwargs)


def _decode_one(blob, device):
    """One cover as uint8 (3, H, W) on ``device``, or None when it is unreadable. JPEG on the device;
    anything else (a PNG saved as .jpg, say) through torchvision's CPU decoders."""
    ImageReadMode, decode_image, decode_jpeg = _torchvision_io()
    if blob.numel() == 0:
        return None
    try:
        return _quiet(decode_jpeg, blob, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        pass
    try:
        return _quiet(decode_image, blob, mode=ImageReadMode.RGB).to(device)
    except RuntimeError:
        return None


class DeviceResize:
    """Resizes covers to the backbone's geometry on the device and normalises them. Covers of one size
    are resized as one batch (a catalogue's covers mostly share a few sizes)."""

    def __init__(self, geometry: CoverGeometry, device):
        self.geometry, self.device = geometry, device
        self.normalise = Normalise255(geometry.mean, geometry.std, device)

    def _pixels(self, images):
        """uint8 (N, 3, H, W), all one size → float (N, 3, crop_h, crop_w) in 0..255, as torchvision's
        Resize + CenterCrop of a PIL image (antialiased bicubic is PIL's filter; within ±3 grey levels)."""
        import torch.nn.functional as F

        g = self.geometry
        h, w = images.shape[-2:]
        nh, nw = (int(g.size * h / w), g.size) if w <= h else (g.size, int(g.size * w / h))
        x = F.interpolate(images.float(), size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
        ch, cw = g.crop
        top, left = int(round((nh - ch) / 2.0)), int(round((nw - cw) / 2.0))
        return x[:, :, top : top + ch, left : left + cw].clamp_(0, 255).round_()

    def __call__(self, images: list, status):
        """``images``: uint8 (3, H, W) tensors on the device, None for an unreadable cover (marked corrupt
        unless already missing). Returns normalised (B, 3, crop_h, crop_w) float pixels and the status."""
        import torch

        status = status.clone()
        ch, cw = self.geometry.crop
        out = torch.tensor(BLANK_RGB, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        out = out.repeat(len(images), 1, ch, cw)
        by_size: dict[tuple, list[int]] = {}
        for i, img in enumerate(images):
            if img is None:
                if status[i] == STATUS_OK:
                    status[i] = STATUS_CORRUPT
            else:
                by_size.setdefault(tuple(img.shape), []).append(i)
        for idx in by_size.values():
            out[idx] = self._pixels(torch.stack([images[i] for i in idx]))
        return self.normalise(out), status


class DeviceCoverDecoder:
    """Decodes a batch of cover files on the device (one batched ``decode_jpeg`` call: nvJPEG on CUDA),
    then resizes them there: CPU workers only read files."""

    def __init__(self, geometry: CoverGeometry, device):
        self.device = device
        self.resize = DeviceResize(geometry, device)

    def __call__(self, blobs: list, status):
        ImageReadMode, _, decode_jpeg = _torchvision_io()
        images: list = [None] * len(blobs)
        present = [i for i, b in enumerate(blobs) if b.numel()]
        try:
            decoded = (_quiet(decode_jpeg, [blobs[i] for i in present], mode=ImageReadMode.RGB, device=self.device)
                       if present else [])
            for i, img in zip(present, decoded):
                images[i] = img
        except RuntimeError:  # one bad file fails the whole batched call: find it one by one
            for i in present:
                images[i] = _decode_one(blobs[i], self.device)
        return self.resize(images, status)


def resize_on_device(towers: "Towers", params: "ContentParams", device) -> bool:
    """``resize: auto`` resizes on a CUDA device, where decode workers are the bottleneck and the GPU has
    time to spare, when the backbone's transform is one the device resize reproduces."""
    if params.resize != "auto":
        return params.resize == "device"
    if device.type != "cuda":
        return False
    try:
        CoverGeometry.from_transform(towers.image_transform)
    except ConfigError:
        return False
    return True


COVER_ROUTES = ("decode on device", "resize on device", "all in workers")


def cover_route(towers: "Towers", params: "ContentParams", device) -> str:
    """Which of ``COVER_ROUTES`` the covers take, per ``params.decode`` and ``params.resize``."""
    if params.decode == "device":
        return COVER_ROUTES[0]
    return COVER_ROUTES[1] if resize_on_device(towers, params, device) else COVER_ROUTES[2]


def cover_batches(towers: "Towers", items: ItemTable, item_ids: np.ndarray, params: "ContentParams", device):
    """(model-ready float pixels (B, 3, H, W) on ``device``, status (B,)) for ``item_ids`` in order,
    by the route ``cover_route`` picks."""
    image_batch, _ = batch_sizes(params, device)
    workers = num_workers(params.num_workers, device)
    route = cover_route(towers, params, device)
    if route == "decode on device":
        decoder = DeviceCoverDecoder(CoverGeometry.from_transform(towers.image_transform), device)
        # reading files is all the workers do
        for blobs, status in _loader(CoverFileBytes(items, item_ids), image_batch, min(workers, 4), _collate_list):
            yield decoder(blobs, status)
        return
    if route == "resize on device":
        resize = DeviceResize(CoverGeometry.from_transform(towers.image_transform), device)
        dataset = CoverDataset(items, item_ids, hwc_uint8, towers.draft_size)
        for images, status in _loader(dataset, image_batch, workers, _collate_list):
            yield resize([img.to(device, non_blocking=True).permute(2, 0, 1) for img in images], status)
        return
    covers = CoverPixels(towers.image_transform)
    dataset = CoverDataset(items, item_ids, covers.worker_transform, towers.draft_size)
    for pixels, status in _loader(dataset, image_batch, workers, pin_memory=device.type == "cuda"):
        yield covers.to_model(pixels, device), status


def _loader(dataset, batch_size: int, workers: int, collate_fn=None, pin_memory: bool = False):
    """Batches of ``dataset`` in order, from ``workers`` DataLoader processes (or this process at one torch
    thread, as a worker would run, when ``workers`` is 0)."""
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate_fn,
                        pin_memory=pin_memory, persistent_workers=False, prefetch_factor=4 if workers else None)
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


def sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


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


def encode_covers(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                  timing: Timing | None = None, stats: dict | None = None) -> np.ndarray:
    """Cover vectors (n_items, image_dim), row 0 zero; ``stats`` gets ``missing_images`` (missing or
    corrupt covers) and ``corrupt_images``."""
    import torch

    item_ids = np.arange(1, items.n_items)
    out = np.zeros((items.n_items, towers.image_dim), dtype=np.float32)
    status = np.zeros(len(item_ids), dtype=np.int8)
    timing = timing or Timing()
    start = 0
    with Meter(ctx.progress, "encode covers", len(item_ids)) as meter, torch.inference_mode():
        t_wait = time.perf_counter()
        for pixels, batch_status in cover_batches(towers, items, item_ids, params, device):
            t0 = time.perf_counter()
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
    if stats is not None:
        stats["missing_images"] = int(bad.sum())
        stats["corrupt_images"] = int((status == STATUS_CORRUPT).sum())
    return out


def encode_with_towers(towers: Towers, items: ItemTable, params: ContentParams, device, ctx,
                       normalize: bool = True, timing: Timing | None = None, stats: dict | None = None) -> np.ndarray:
    """(n_items, d) float32, row 0 zero: text, image or the fusion of both, per ``params.modality``."""
    text = image = None
    if params.modality in ("text", "fused"):
        text = encode_titles(towers, items, params, device, ctx, timing, stats)
    if params.modality in ("image", "fused"):
        image = encode_covers(towers, items, params, device, ctx, timing, stats)
    if text is not None and image is not None:
        out = fuse(text, image, params.fusion)
    else:
        out = text if text is not None else image
        if normalize:
            out = l2_normalize(out).astype(np.float32)
    out[0] = 0.0
    return out
