"""DCNv2: cross layers ``x_{l+1} = x0 * (W x_l + b) + x_l`` beside (parallel) or before (stacked) a DNN.

The input row is [row levels, target item, history interest, target * interest] (+ user id); the
history enters through DIN-style target attention or a masked mean of its items (``history``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from mmbench.contract.components import train_defaults
from mmbench.contract.params import DEPTH, WIDTH, Bounds, added_later, check_bounds, declare_bounds

from ..layers import (CrossNet, ItemFeatureEmbedding, RowInputsModel, TargetAttention, baseline_init,
                      encode_batch_items, mlp)


@dataclass
class DCNParams:
    embedding_dim: int = 32
    cross_layers: int = 3
    low_rank: int = 0  # 0 = full-rank W; r > 0: W = U V with U (d x r), V (r x d)
    structure: Literal["parallel", "stacked"] = "parallel"
    dnn_hidden: list[int] = field(default_factory=lambda: [512, 256])
    net_dropout: float = 0.1
    batch_norm: bool = True
    history: Literal["attention", "mean"] = "attention"
    attention_hidden: list[int] = field(default_factory=lambda: [64])
    attention_activation: Literal["dice", "relu", "prelu", "sigmoid"] = "dice"
    attention_dropout: float = 0.0
    use_user_id: bool = False
    id_dropout: float = added_later(0.0)  # P(an item's id embedding is zeroed in training), for cold items
    item_tags: bool = added_later(True)  # False: no tag part (a control without content)

    def __post_init__(self):
        check_bounds(self)  # the ranges are declared once, below


declare_bounds(DCNParams, embedding_dim=WIDTH, cross_layers=DEPTH, low_rank=Bounds(ge=0, le=65_536),
               dnn_hidden=WIDTH, attention_hidden=WIDTH)


class DCN(RowInputsModel):
    Params = DCNParams
    TRAIN_DEFAULTS = train_defaults(__file__)

    def __init__(self, spec, params: DCNParams):
        super().__init__()
        e = params.embedding_dim
        self.params = params
        self.items = ItemFeatureEmbedding(spec, e, id_dropout=params.id_dropout, use_tags=params.item_tags)
        d = self.items.out_dim
        self.attention = TargetAttention(d, params.attention_hidden, params.attention_activation,
                                         params.attention_dropout) if params.history == "attention" else None
        in_dim = 3 * d + self.init_row_inputs(spec, e, params.use_user_id)
        self.cross = CrossNet(in_dim, params.cross_layers, params.low_rank)
        self.dnn, out = mlp(in_dim, params.dnn_hidden, params.net_dropout, params.batch_norm)
        head_in = out + in_dim if params.structure == "parallel" else out
        self.head = nn.Linear(head_in, 1)
        baseline_init(self)

    def interest(self, target, keys, key_index, row):
        if self.attention is not None:
            return self.attention(target, keys, key_index, row)
        total = torch.zeros_like(target).index_add_(0, row, keys.index_select(0, key_index))
        count = torch.zeros(target.shape[0], device=target.device).index_add_(
            0, row, torch.ones_like(row, dtype=torch.float32))
        return total / count.clamp(min=1).unsqueeze(-1).to(total.dtype)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target, keys, key_index, row = encode_batch_items(self.items, batch["item_id"], batch["item_seq"])
        interest = self.interest(target, keys, key_index, row)
        x0 = self.row_inputs(batch, target, interest, target * interest)
        if self.params.structure == "parallel":
            h = torch.cat([self.cross(x0), self.dnn(x0)], dim=-1)
        else:
            h = self.dnn(self.cross(x0))
        return self.head(h).squeeze(-1)
