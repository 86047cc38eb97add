"""``none`` and ``pca`` reducers: fixed maps fitted once on the item vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench


class NoneReducer:
    """Pass the encoder's vectors through unchanged."""

    Params = None
    VERSION = 1
    trainable = False

    def __init__(self, params=None):
        pass

    def fit(self, vecs: np.ndarray) -> "NoneReducer":
        return self

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


class PcaReducer:
    """Principal components; randomized SVD so 91,718 x 1,024 takes seconds."""

    Params = PcaParams
    VERSION = 1
    trainable = False

    def __init__(self, params: PcaParams):
        self.params = params
        self.pca = None

    def fit(self, vecs: np.ndarray) -> "PcaReducer":
        from sklearn.decomposition import PCA

        dim = min(self.params.dim, vecs.shape[1], vecs.shape[0])
        self.pca = PCA(n_components=dim, whiten=self.params.whiten, svd_solver="randomized",
                       random_state=self.params.seed)
        self.pca.fit(vecs)
        return self

    def apply(self, vecs: np.ndarray) -> np.ndarray:
        out = self.pca.transform(vecs).astype(np.float32)
        out[0] = 0.0  # the padding row is not an item: keep it exactly zero
        return out


@mmbench.hookimpl
def register_reducers(register):
    register("none", NoneReducer, description="identity")
    register("pca", PcaReducer, description="PCA to `dim` (randomized SVD)")
