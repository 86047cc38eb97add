"""Where content encoders run: the device, batch sizes, decode workers, autocast and synchronisation."""
from __future__ import annotations

import contextlib
import os

from mmbench.errors import ConfigError

# per device: (image batch, text batch). CPU batches stay small so progress moves and memory stays flat.
DEFAULT_BATCH = {"cuda": (512, 1024), "mps": (128, 256), "cpu": (32, 128)}


def pick_device(name: str = "auto"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"encoder.device={name!r} but no CUDA device is available; use device: auto or cpu")
    return torch.device(name)


def batch_sizes(params, device) -> tuple[int, int]:
    """(image batch, text batch): ``params.batch_size`` / ``text_batch_size``, or the device's default."""
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
    import torch

    if device.type != "cuda" or precision == "fp32":
        return contextlib.nullcontext()
    if precision == "auto":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda", dtype=dtype)



def sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)
