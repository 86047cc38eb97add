"""Building blocks shared by the zoo's models."""
from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, hidden: list[int], dropout: float = 0.0, batch_norm: bool = False,
        activation: type[nn.Module] = nn.ReLU) -> tuple[nn.Sequential, int]:
    """Linear → [BatchNorm] → activation → [Dropout] per hidden size; returns (module, out_dim)."""
    layers: list[nn.Module] = []
    dim = in_dim
    for h in hidden:
        layers.append(nn.Linear(dim, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        dim = h
    return nn.Sequential(*layers), dim


class ItemEncoder(nn.Module):
    """Item id → learned representation from the item-side features, all looked up by id.

    Parts (each ``dim`` wide, concatenated): id embedding, tag embeddings mean-pooled over the non-
    padding tags, the multimodal vector through a linear layer, and likes/views level embeddings.
    Works on any id tensor shape: (B,) for targets, (B, L) for histories.
    """

    def __init__(self, spec, dim: int, use_levels: bool = True):
        super().__init__()
        self.features = spec.item_features
        self.id_emb = nn.Embedding(spec.n_items, dim, padding_idx=0)
        self.tag_emb = nn.Embedding(spec.n_tags, dim, padding_idx=0)
        self.vec_proj = nn.Linear(spec.vec_dim, dim)
        self.use_levels = use_levels
        if use_levels:
            self.level_emb = nn.Embedding(spec.n_levels * 2, dim)
        self.n_levels = spec.n_levels
        self.out_dim = dim * (4 if use_levels else 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # Histories repeat items heavily: represent each distinct id of the batch once, then gather.
        unique, inverse = torch.unique(ids.long(), return_inverse=True)
        rep = self.represent(unique)
        # index_select's backward is a plain index_add, far cheaper on CPU than advanced indexing's
        return rep.index_select(0, inverse.flatten()).view(*ids.shape, rep.shape[-1])

    def represent(self, ids: torch.Tensor) -> torch.Tensor:
        """Representation of a 1-d tensor of ids."""
        tags = self.features.tags[ids]  # (n, 5)
        tag_mask = (tags != 0).unsqueeze(-1).to(self.id_emb.weight.dtype)
        tag_vec = (self.tag_emb(tags) * tag_mask).sum(-2) / tag_mask.sum(-2).clamp(min=1)
        nonpad = (ids != 0).unsqueeze(-1).to(tag_vec.dtype)
        parts = [self.id_emb(ids), tag_vec, self.vec_proj(self.features.vectors(ids)) * nonpad]
        if self.use_levels:
            likes = self.features.likes[ids]
            views = self.features.views[ids] + self.n_levels
            parts.append((self.level_emb(likes) + self.level_emb(views)) * nonpad)
        return torch.cat(parts, dim=-1)
