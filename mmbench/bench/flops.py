"""The arithmetic floor of a training step: this machine's fp32 matrix-product rate, measured in-process at
the shape that dominates a model's FLOPs (which the model counts: ``Model.flop_count``)."""
from __future__ import annotations

import time


def gemm_gflops(rows: int, width: int, repeats: int = 5) -> float:
    """Best fp32 rate (GFLOP/s) of ``(rows x width) @ (width x width)`` into a preallocated output, at
    the current torch thread count."""
    import torch

    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(rows, width, generator=gen), torch.randn(width, width, generator=gen)
    out = torch.empty(rows, width)
    torch.mm(x, w, out=out)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(x, w, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * rows * width * width / best / 1e9
