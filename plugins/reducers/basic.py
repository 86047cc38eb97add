"""``none`` and ``pca`` reducers: fixed maps fitted once on the item vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench
from mmbench.contract.components import FixedReducer
from mmbench.errors import ConfigError
from mmbench.contract.params import bounded, check_bounds


class NoneReducer(FixedReducer):
    """Pass the encoder's vectors through unchanged."""

    def apply(self, vecs: np.ndarray) -> np.ndarray:
        return vecs


@dataclass
class PcaParams:
    dim: int = bounded(128, ge=1)
    whiten: bool = False
    seed: int = bounded(0, ge=0, le=2**32 - 1)  # numpy's seed range

    def __post_init__(self):
        check_bounds(self)


def pca_width(asked: int, vecs: np.ndarray, reducer: str) -> int:
    """PCA gives at most min(items, width) components; asking for more is an error, never a silently
    narrower table under the requested dim's label."""
    n, width = vecs.shape
    if asked > width:
        raise ConfigError(f"reducer.dim={asked}, but the encoder gives {width}-d vectors: {reducer} can give at most "
                          f"{width} dims; set reducer.dim <= {width} or use reducer.name=none")
    if asked > n:
        raise ConfigError(f"reducer.dim={asked}, but there are only {n} items: {reducer} can give at most {n} dims; "
                          f"set reducer.dim <= {n}")
    return asked


class PcaReducer(FixedReducer):
    """Principal components; randomized SVD so 91,718 x 1,024 takes seconds."""

    Params = PcaParams

    def __init__(self, params: PcaParams):
        super().__init__(params)
        self.pca = None

    def output_width(self) -> int:
        return self.params.dim

    def fit(self, vecs: np.ndarray) -> None:
        from sklearn.decomposition import PCA

        dim = pca_width(self.params.dim, vecs, "pca")
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
