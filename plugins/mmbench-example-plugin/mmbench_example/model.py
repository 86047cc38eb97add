"""``mean_pool_lr``: logistic regression on the target item against the mean of the history.

logit = a · cos(v_t, v_h) + w · [t, h, t * h] + b_likes[likes_level] + b_views[views_level] + b,
where v_t is the target item's vector, v_h the mean of the history items' vectors, and t, h the same
two through one shared linear map. The cosine term gives the model the "does the target look like
what this user watched" signal from the first step on; the rest learns which directions matter.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmbench.plugin import Model, bounded, check_bounds, train_defaults


@dataclass
class MeanPoolLRParams:
    dim: int = bounded(16, ge=1, le=65_536)
    use_levels: bool = True

    def __post_init__(self):
        check_bounds(self)


class MeanPoolLR(Model):
    Params = MeanPoolLRParams  # its defaults are the model's defaults
    TRAIN_DEFAULTS = train_defaults(__file__)  # the train: section of the config.yaml beside this file

    def __init__(self, spec, params: MeanPoolLRParams):
        super().__init__()
        self.vectors = spec.item_features.vectors  # id -> item vector (frozen table [+ trainable reducer])
        self.proj = nn.Linear(spec.vec_dim, params.dim)
        self.head = nn.Linear(3 * params.dim, 1)
        self.match = nn.Parameter(torch.ones(()))
        self.levels = nn.Embedding(2 * spec.n_levels, 1) if params.use_levels else None
        self.n_levels = spec.n_levels

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        seq = batch["item_seq"].long()
        keep = (seq != 0).unsqueeze(-1).float()
        v_hist = (self.vectors(seq) * keep).sum(1) / keep.sum(1).clamp(min=1)
        v_target = self.vectors(batch["item_id"].long())
        target, hist = self.proj(v_target), self.proj(v_hist)
        logit = self.head(torch.cat([target, hist, target * hist], dim=-1)).squeeze(-1)
        logit = logit + self.match * nn.functional.cosine_similarity(v_target, v_hist, dim=-1, eps=1e-6)
        if self.levels is not None:
            logit = logit + self.levels(batch["likes_level"].long()).squeeze(-1) \
                + self.levels(batch["views_level"].long() + self.n_levels).squeeze(-1)
        return logit
