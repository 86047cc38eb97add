"""k-means codebooks for semantic item ids: one codebook (vector quantisation) or a stack of them fitted
on successive residuals (residual quantisation). Pure functions over float32 arrays.

Codes are 1..K; 0 is reserved for the padding item (row 0 of every item table), so a model can embed
codes with ``padding_idx=0``. Everything is deterministic given ``seed`` (k-means++ seeding from a
numpy Generator; ties in the nearest-centre search go to the lowest index).
"""
from __future__ import annotations

import numpy as np
import torch


def _sq_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """(n, k) squared Euclidean distances, through one matrix product."""
    return (x.pow(2).sum(1, keepdim=True) - 2.0 * x @ centers.T + centers.pow(2).sum(1)).clamp_min_(0.0)


def nearest(x: np.ndarray, centers: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Index of the nearest centre for every row of x (n,), int64."""
    xt, ct = torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.from_numpy(np.ascontiguousarray(centers, np.float32))
    return torch.cat([_sq_distances(xt[i:i + chunk], ct).argmin(1) for i in range(0, len(xt), chunk)]).numpy()


def _plus_plus(x: torch.Tensor, k: int, rng: np.random.Generator) -> torch.Tensor:
    """k-means++ seeding: each new centre drawn with probability proportional to its squared
    distance from the centres so far."""
    n = x.shape[0]
    norms = x.pow(2).sum(1)
    chosen = [int(rng.integers(n))]
    closest = (norms - 2.0 * (x @ x[chosen[0]]) + norms[chosen[0]]).clamp_min_(0.0)
    for _ in range(1, k):
        cumulative = torch.cumsum(closest.double(), 0)
        total = float(cumulative[-1])
        i = int(torch.searchsorted(cumulative, rng.random() * total, right=True).clamp_max(n - 1)) if total > 0 \
            else int(rng.integers(n))
        chosen.append(i)
        torch.minimum(closest, (norms - 2.0 * (x @ x[i]) + norms[i]).clamp_min_(0.0), out=closest)
    return x[chosen].clone()


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 30, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding. Returns (centres (k, d) float32, assignment (n,) int64
    in 0..k-1). An emptied cluster takes the point farthest from its centre."""
    if k < 1 or len(x) < k:
        raise ValueError(f"k-means needs 1 <= k <= number of vectors; got k={k} for {len(x)} vectors")
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    rng = np.random.default_rng(seed)
    sample = xt if len(xt) <= 64 * k else xt[torch.from_numpy(np.sort(rng.choice(len(xt), 64 * k, replace=False)))]
    centers = _plus_plus(sample, k, rng)  # seeded on at most 64 points per centre: Lloyd does the rest
    previous = float("inf")
    for _ in range(iters):
        dist = _sq_distances(xt, centers)
        best, assign = dist.min(1)
        error = float(best.sum())
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(centers).index_add_(0, assign, xt)
        centers = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None].to(xt.dtype), centers)
        for empty in torch.nonzero(counts == 0).flatten().tolist():
            far = int(best.argmax())
            centers[empty], best[far] = xt[far], 0.0
        if previous - error <= tol * max(previous, 1e-30):
            break
        previous = error
    assign = _sq_distances(xt, centers).argmin(1)
    return centers.numpy(), assign.numpy()


def fit_residual(x: np.ndarray, levels: int, k: int, seed: int = 0, iters: int = 30) -> list[np.ndarray]:
    """Residual quantisation: level l's k-means codebook is fitted on what levels 0..l-1 leave over.
    Returns the L codebooks, each (k, d)."""
    residual = np.ascontiguousarray(x, np.float32).copy()
    books = []
    for level in range(levels):
        centers, assign = kmeans(residual, k, seed + level, iters)
        residual -= centers[assign]
        books.append(centers)
    return books


def encode(x: np.ndarray, codebooks: list[np.ndarray]) -> np.ndarray:
    """Greedy residual codes of x: (n, L) int64 in 1..K (nearest centre + 1) per level."""
    residual = np.ascontiguousarray(x, np.float32).copy()
    codes = np.empty((len(x), len(codebooks)), np.int64)
    for level, centers in enumerate(codebooks):
        idx = nearest(residual, centers)
        residual -= centers[idx]
        codes[:, level] = idx + 1
    return codes


def decode(codes: np.ndarray, codebooks: list[np.ndarray]) -> np.ndarray:
    """Sum of the chosen centres (the reconstruction); code 0 contributes nothing."""
    out = np.zeros((len(codes), codebooks[0].shape[1]), np.float32)
    for level, centers in enumerate(codebooks):
        padded = np.vstack([np.zeros((1, centers.shape[1]), np.float32), centers])
        out += padded[codes[:, level]]
    return out


def item_codes(vectors: np.ndarray, codebooks: list[np.ndarray]) -> np.ndarray:
    """Codes of a full item table: row 0 (padding) gets code 0 at every level."""
    codes = encode(vectors, codebooks)
    codes[0] = 0
    return codes


def split_groups(x: np.ndarray, groups: int) -> np.ndarray:
    """(n, d) → (n * groups, d / groups): the sub-vectors that share one codebook."""
    n, d = x.shape
    if d % groups:
        raise ValueError(f"vector width {d} is not divisible by groups={groups}")
    return np.ascontiguousarray(x, np.float32).reshape(n * groups, d // groups)
