"""Item covers to vectors: the three cover paths (all in decode workers; decode in workers, resize on
the device; decode and resize on the device), missing and corrupt covers, and the image tower's loop."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from mmbench.data.types import ItemTable
from mmbench.errors import ConfigError

from .device import autocast, batch_sizes, num_workers
from .progress import Meter, Timing

if TYPE_CHECKING:
    from .common import ContentParams, Towers

BLANK_RGB = (128, 128, 128)  # a blank mid-grey cover stands in for a missing or unreadable one
STATUS_OK, STATUS_MISSING, STATUS_CORRUPT = 0, 1, 2


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


def resize_on_device(towers: Towers, params: ContentParams, device) -> bool:
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


def cover_route(towers: Towers, params: ContentParams, device) -> str:
    """Which of ``COVER_ROUTES`` the covers take, per ``params.decode`` and ``params.resize``."""
    if params.decode == "device":
        return COVER_ROUTES[0]
    return COVER_ROUTES[1] if resize_on_device(towers, params, device) else COVER_ROUTES[2]


def cover_batches(towers: Towers, items: ItemTable, item_ids: np.ndarray, params: ContentParams, device):
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
