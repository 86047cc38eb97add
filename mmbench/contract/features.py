"""What a CTR model is built from: vocabulary sizes and item-side lookup tables.

Item-side features of history items are looked up by id inside the model (``ItemFeatures``), so a
batch only carries ids: nothing of size rows x history x dim is materialised outside a batch.
The reducer's output arrives here: dense vectors (``ItemVectors``, possibly 0 wide) and, from a
reducer that hands out codes, integer codes per item with their vocabulary sizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.types import MMCTRData


class ItemVectors(nn.Module):
    """Id → multimodal item vector: a frozen table, optionally followed by a trainable reducer.

    Padding id 0 maps to a zero vector in every case.
    """

    def __init__(self, table: np.ndarray, trainable: nn.Module | None = None):
        super().__init__()
        table = np.ascontiguousarray(table, dtype=np.float32)
        self.register_buffer("table", torch.from_numpy(table.copy()), persistent=False)
        self.trainable = trainable
        self.in_dim = int(table.shape[1])
        self.out_dim = int(getattr(trainable, "out_dim", self.in_dim)) if trainable is not None else self.in_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        vecs = self.table[ids]
        if self.trainable is not None:
            vecs = self.trainable(vecs) * (ids != 0).unsqueeze(-1).to(vecs.dtype)
        return vecs


def _index_buffer(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.int64))


class ItemFeatures(nn.Module):
    """All item-side lookups by id: tags (n_items, 5), likes/views levels, the item vector and, when the
    reducer hands out codes, the codes (n_items, L) with ``code_vocab[j]`` values at level j."""

    def __init__(self, item_tags: np.ndarray, likes: np.ndarray, views: np.ndarray, vectors: ItemVectors,
                 codes: np.ndarray | None = None, code_vocab: tuple[int, ...] = ()):
        super().__init__()
        self.register_buffer("tags", _index_buffer(item_tags), persistent=False)
        self.register_buffer("likes", _index_buffer(likes), persistent=False)
        self.register_buffer("views", _index_buffer(views), persistent=False)
        self.vectors = vectors
        self.code_vocab = tuple(int(v) for v in code_vocab)
        self.register_buffer("codes", None if codes is None else _index_buffer(codes), persistent=False)

    @property
    def vec_dim(self) -> int:
        return self.vectors.out_dim


@dataclass
class FeatureSpec:
    """Everything a model's ``build`` needs to know about the data."""

    n_users: int
    n_items: int
    n_tags: int
    n_levels: int
    seq_len: int
    item_features: ItemFeatures

    @property
    def vec_dim(self) -> int:
        """Width of the reduced item vector (0 when the reducer hands out codes only)."""
        return self.item_features.vec_dim

    @property
    def code_vocab(self) -> tuple[int, ...]:
        """Vocabulary size of each code level; empty when the reducer hands out no codes."""
        return self.item_features.code_vocab

    @classmethod
    def from_data(cls, data: MMCTRData, item_vectors: ItemVectors, codes: np.ndarray | None = None,
                  code_vocab: tuple[int, ...] = ()) -> "FeatureSpec":
        items = data.items
        feats = ItemFeatures(items.item_tags, items.likes_level, items.views_level, item_vectors, codes, code_vocab)
        return cls(data.n_users, items.n_items, data.n_tags, data.n_levels, data.seq_len, feats)


#: Keys of a batch: tensors gathered by row index from resident split tensors.
BATCH_KEYS = ("user_id", "item_seq", "item_id", "likes_level", "views_level")
