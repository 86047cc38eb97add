"""``none`` and ``pca`` reducers: fixed maps fitted once on the item vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench
from mmbench.components import FixedReducer


class NoneReducer(FixedReducer):
    """Pass the encoder's vectors through unchanged."""

    def apply(self, vecs: np.ndarray) -> np.ndarray:
        return vecs


@dataclass
class PcaParams:
    dim: int = 128
    whiten: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.dim < 1:
            raise ValueError("dim must be >= 1")


class PcaReducer(FixedReducer):
    """Principal components; randomized SVD so 91,718 x 1,024 takes seconds."""

    Params = PcaParams

    def __init__(self, params: PcaParams):
        super().__init__(params)
        self.pca = None

    def fit(self, vecs: np.ndarray) -> None:
        from sklearn.decomposition import PCA

        dim = min(self.params.dim, vecs.shape[1], vecs.shape[0])
        self.pca = PCA(n_components=dim, whiten=self.params.whiten, svd_solver="randomized",
                       random_state=self.params.seed)
        self.pca.fit(vecs)

    def apply(self, vecs: np.ndarray) -> np.ndarray:
        out = self.pca.transform(vecs).astype(np.float32)
        out[0] = 0.0  # the padding row is not an item: keep it exactly zero
        return out


@mmbench.hookimpl
def register_reducers(register):
    register("none", NoneReducer, description="identity")
    register("pca", PcaReducer, description="PCA to `dim` (randomized SVD)")
