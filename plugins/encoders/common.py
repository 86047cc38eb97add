"""What every content encoder shares: its parameters, the ``Towers`` a backbone is wrapped as, and the
loop that encodes titles and/or covers and fuses them.

A backbone (CLIP, OpenCLIP, a text model) is wrapped as ``Towers``: tokenize + encode_text and/or an
image transform + encode_image. ``encode_with_towers`` then does the rest the same way for all of them;
covers.py, titles.py, fusion.py, device.py and progress.py hold the parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from mmbench.data.types import ItemTable
from mmbench.contract.params import DEVICE, Bounds, check_bounds, declare_bounds

from .covers import encode_covers
from .fusion import fuse, l2_normalize
from .progress import Timing
from .titles import encode_titles

MODALITIES = ("text", "image", "fused")


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
        """The content encoders' shared checks (their ranges are declared below, once for all)."""
        check_bounds(self)
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}")
        if self.decode == "device" and self.resize == "workers":
            raise ValueError("resize: workers needs decode: pil (decode: device resizes on the device)")


declare_bounds(ContentParams, device=DEVICE, batch_size=Bounds(ge=0, le=2**20), text_batch_size=Bounds(ge=0, le=2**20),
               num_workers=Bounds(ge=-1, le=256))


def quiet_transformers() -> None:
    """transformers' own tqdm bars would tear through the rich progress display."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


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
