"""Combining text and image vectors of the same items."""
from __future__ import annotations

import numpy as np

from mmbench.errors import ConfigError


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
