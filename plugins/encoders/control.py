"""``random`` encoder: a content-free control. Each item gets a fixed Gaussian vector drawn from a seed,
so the pipeline around it (reducer, model, training) is exactly that of a content encoder while the
vectors carry nothing about the item. An encoder is worth its cost only if it beats this control at the
same width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench
from mmbench.contract.components import Encoder
from mmbench.data.types import ItemTable
from mmbench.contract.params import bounded, check_bounds


@dataclass
class RandomParams:
    dim: int = bounded(384, ge=1, le=65_536)  # all-MiniLM-L6-v2's width: `text` and `random` feed the reducer alike
    seed: int = bounded(0, ge=0)
    normalize: bool = True  # L2-normalise each vector, as the content encoders do by default

    def __post_init__(self):
        check_bounds(self)


class RandomEncoder(Encoder):
    content_free = True
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
