"""``rq`` and ``vq`` reducers: semantic item ids from k-means codebooks (``codebooks.py``).

* ``rq``: residual quantisation, L levels x K codes; level l's codebook is fitted on what levels
  0..l-1 leave over (the 1st place's RQ variant: Transformer_DCN_Quant, 5 levels x 5 codes).
* ``vq``: one codebook of K codes. With ``groups: G`` the vector is cut into G equal sub-vectors that
  share the codebook, so an item gets G codes from one vocabulary (Hsyy04's VQ codes are of this kind).

Both hand the models integer codes (real items 1..K, the padding item 0, vocabulary K + 1 per code
position) and, with ``vectors``, dense vectors as well: the encoder's own (``input``) or the
codebooks' reconstruction (``quantised``). Fitted on the real items, deterministic by ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

import mmbench
from mmbench.contract.components import FixedReducer, Reduced
from mmbench.errors import ConfigError
from mmbench.contract.params import bounded, check_bounds


@dataclass
class RqParams:
    levels: int = bounded(3, ge=1, le=16)
    codes: int = bounded(256, ge=1)  # K per level; at most the number of items (checked at fit)
    normalize: bool = False  # L2-normalise the vectors first (the 1st place's RQ variant does)
    vectors: Literal["none", "input", "quantised"] = "none"  # dense vectors handed on beside the codes
    iters: int = bounded(30, ge=1, le=1000)  # Lloyd iterations per level at most
    seed: int = bounded(0, ge=0, le=2**32 - 1)

    def __post_init__(self):
        check_bounds(self)


@dataclass
class VqParams:
    codes: int = bounded(256, ge=1)  # K; at most the number of (sub-)vectors (checked at fit)
    groups: int = bounded(1, ge=1)  # sub-vectors per item sharing the codebook (the vector width must divide by it)
    normalize: bool = False
    vectors: Literal["none", "input", "quantised"] = "none"
    iters: int = bounded(30, ge=1, le=1000)
    seed: int = bounded(0, ge=0, le=2**32 - 1)

    def __post_init__(self):
        check_bounds(self)


def _normalized(vecs: np.ndarray, on: bool) -> np.ndarray:
    vecs = np.ascontiguousarray(vecs, np.float32)
    if not on:
        return vecs
    norm = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norm, 1e-12)


def _handed_on(vecs: np.ndarray, quantised: np.ndarray, codes: np.ndarray, vocab: tuple, choice: str) -> Reduced:
    dense = {"none": None, "input": vecs, "quantised": quantised}[choice]
    if dense is not None:
        dense = np.ascontiguousarray(dense, np.float32)
        dense[0] = 0.0
    return Reduced(vectors=dense, codes=codes, code_vocab=vocab)


class RqReducer(FixedReducer):
    Params = RqParams

    def fit(self, vecs: np.ndarray) -> None:
        from . import codebooks  # torch: imported when a reducer fits, not when `mmbench plugins` lists it

        p = self.params
        if len(vecs) < p.codes:
            raise ConfigError(f"reducer.codes={p.codes}, but there are only {len(vecs)} items: rq needs at least as "
                              f"many items as codes per level; set reducer.codes <= {len(vecs)}")
        self.books = codebooks.fit_residual(_normalized(vecs, p.normalize), p.levels, p.codes, p.seed, p.iters)

    def apply(self, vecs: np.ndarray) -> Reduced:
        from . import codebooks

        x = _normalized(vecs, self.params.normalize)
        codes = codebooks.item_codes(x, self.books)
        vocab = (self.params.codes + 1,) * self.params.levels
        return _handed_on(x, codebooks.decode(codes, self.books), codes, vocab, self.params.vectors)


class VqReducer(FixedReducer):
    Params = VqParams

    def fit(self, vecs: np.ndarray) -> None:
        from . import codebooks  # torch: imported when a reducer fits, not when `mmbench plugins` lists it

        p = self.params
        width = vecs.shape[1]
        if width % p.groups:
            raise ConfigError(f"reducer.groups={p.groups}, but the encoder gives {width}-d vectors: vq cuts each "
                              f"vector into groups of equal width; set reducer.groups to a divisor of {width}")
        parts = codebooks.split_groups(_normalized(vecs, p.normalize), p.groups)
        if len(parts) < p.codes:
            raise ConfigError(f"reducer.codes={p.codes}, but there are only {len(parts)} (sub-)vectors: vq needs at "
                              f"least as many as codes; set reducer.codes <= {len(parts)}")
        self.book, _ = codebooks.kmeans(parts, p.codes, p.seed, p.iters)

    def apply(self, vecs: np.ndarray) -> Reduced:
        from . import codebooks

        p = self.params
        x = _normalized(vecs, p.normalize)
        codes = codebooks.nearest(codebooks.split_groups(x, p.groups), self.book).reshape(len(x), p.groups) + 1
        codes[0] = 0
        quantised = np.vstack([np.zeros((1, self.book.shape[1]), np.float32), self.book])[codes].reshape(x.shape)
        return _handed_on(x, quantised, codes, (p.codes + 1,) * p.groups, p.vectors)


@mmbench.hookimpl
def register_reducers(register):
    register("rq", RqReducer, description="residual k-means codes: `levels` x `codes` (semantic ids), optional vectors")
    register("vq", VqReducer, description="one k-means codebook of `codes` codes, `groups` sub-vectors share it")
