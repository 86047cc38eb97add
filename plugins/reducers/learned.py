"""``learned`` reducer: a linear projection trained jointly with the CTR loss, optionally PCA-initialised.

Unlike ``pca`` it is not a fixed matrix: the model's optimiser updates it, so the reduction is shaped
by the click signal rather than by the variance of the vectors alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

import mmbench
from mmbench.contract.components import TrainableReducer
from mmbench.contract.params import bounded, check_bounds


@dataclass
class LearnedParams:
    dim: int = bounded(128, ge=1, le=65_536)
    init: Literal["pca", "random"] = "pca"  # pca: start from the principal components (centred)
    seed: int = bounded(0, ge=0, le=2**32 - 1)  # of the PCA's randomized SVD

    def __post_init__(self):
        check_bounds(self)


def _projection(in_dim: int, out_dim: int, weight: np.ndarray | None, bias: np.ndarray | None):
    import torch
    from torch import nn

    layer = nn.Linear(in_dim, out_dim)
    if weight is not None:
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(weight))
            layer.bias.copy_(torch.from_numpy(bias))
    layer.out_dim = out_dim
    return layer


class LearnedReducer(TrainableReducer):
    """``fit`` prepares the PCA initialisation once per item table; ``module`` gives a fresh trainable
    layer for every model built on it."""

    Params = LearnedParams

    def __init__(self, params: LearnedParams):
        super().__init__(params)
        self.weight: np.ndarray | None = None  # (out_dim, in_dim)
        self.bias: np.ndarray | None = None

    def output_width(self) -> int:
        return self.params.dim

    def fit(self, vecs: np.ndarray) -> None:
        if self.params.init != "pca":
            return
        from sklearn.decomposition import PCA

        dim = min(self.params.dim, vecs.shape[1], vecs.shape[0])
        pca = PCA(n_components=dim, svd_solver="randomized", random_state=self.params.seed).fit(vecs)
        weight = np.zeros((self.params.dim, vecs.shape[1]), dtype=np.float32)
        weight[:dim] = pca.components_  # rows beyond the rank of the data start at zero
        self.weight = weight
        self.bias = (-weight @ pca.mean_.astype(np.float32)).astype(np.float32)  # x W^T + b = (x - mean) W^T

    def module(self, in_dim: int):
        if self.params.init == "pca" and self.weight is None:
            raise RuntimeError("learned reducer with init=pca: call fit(vecs) before module(in_dim)")
        if self.weight is not None and self.weight.shape[1] != in_dim:
            raise ValueError(f"learned reducer was fitted on {self.weight.shape[1]}-d vectors, got in_dim={in_dim}")
        return _projection(in_dim, self.params.dim, self.weight, self.bias)


@mmbench.hookimpl
def register_reducers(register):
    register("learned", LearnedReducer, description="linear projection to `dim` trained with the CTR loss (PCA init)")
