"""What a CTR model is built from: vocabulary sizes and item-side lookup tables.

Item-side features of history items are looked up by id inside the model (``ItemFeatures``), so a
batch only carries ids: nothing of size rows x history x dim is materialised outside a batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data.types import MMCTRData


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


class ItemFeatures(nn.Module):
    """All item-side lookups by id: tags (n_items, 5), likes/views levels and the item vector."""

    def __init__(self, item_tags: np.ndarray, likes: np.ndarray, views: np.ndarray, vectors: ItemVectors):
        super().__init__()
        self.register_buffer("tags", torch.from_numpy(np.ascontiguousarray(item_tags, dtype=np.int64)), persistent=False)
        self.register_buffer("likes", torch.from_numpy(np.ascontiguousarray(likes, dtype=np.int64)), persistent=False)
        self.register_buffer("views", torch.from_numpy(np.ascontiguousarray(views, dtype=np.int64)), persistent=False)
        self.vectors = vectors

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
        return self.item_features.vec_dim

    @classmethod
    def from_data(cls, data: MMCTRData, item_vectors: ItemVectors) -> "FeatureSpec":
        items = data.items
        feats = ItemFeatures(items.item_tags, items.likes_level, items.views_level, item_vectors)
        return cls(data.n_users, items.n_items, data.n_tags, data.n_levels, data.seq_len, feats)


#: Keys of a batch: tensors gathered by row index from resident split tensors.
BATCH_KEYS = ("user_id", "item_seq", "item_id", "likes_level", "views_level")
