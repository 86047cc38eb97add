"""``random`` encoder: a content-free control. Each item gets a fixed Gaussian vector drawn from a seed,
so the pipeline around it (reducer, model, training) is exactly that of a content encoder while the
vectors carry nothing about the item. An encoder is worth its cost only if it beats this control at the
same width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench
from mmbench.components import Encoder
from mmbench.data.types import ItemTable


@dataclass
class RandomParams:
    dim: int = 384  # all-MiniLM-L6-v2's width, so `text` and `random` feed the reducer the same shape
    seed: int = 0
    normalize: bool = True  # L2-normalise each vector, as the content encoders do by default

    def __post_init__(self):
        if self.dim < 1:
            raise ValueError("dim must be >= 1")


class RandomEncoder(Encoder):
    Params = RandomParams
    VERSION = 1

    def encode(self, items: ItemTable, ctx) -> np.ndarray:
        rng = np.random.default_rng(self.params.seed)
        vecs = rng.standard_normal((items.n_items, self.params.dim), dtype=np.float32)
        if self.params.normalize:
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs[0] = 0.0
        return vecs


@mmbench.hookimpl
def register_encoders(register):
    register("random", RandomEncoder, description="content-free control: fixed Gaussian vectors per item (seeded)")
