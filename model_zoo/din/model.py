"""Deep Interest Network with the semantics of the MMCTR challenge's official baseline.

Target and history items share one ``ItemFeatureEmbedding`` (id, pooled tags, projected multimodal
vector, likes/views levels, the reducer's codes if any). Each distinct item of a batch is encoded once; the local activation unit runs on
the non-padded history positions only (``TargetAttention``); the pooled interest joins the target and
the row's features in a DNN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from mmbench.components import train_defaults

from ..layers import ItemFeatureEmbedding, RowInputsModel, TargetAttention, baseline_init, encode_batch_items, mlp


@dataclass
class DINParams:
    embedding_dim: int = 64
    attention_hidden: list[int] = field(default_factory=lambda: [512, 256])
    attention_activation: Literal["dice", "relu", "prelu", "sigmoid"] = "dice"
    attention_dropout: float = 0.1
    use_softmax: bool = False
    dnn_hidden: list[int] = field(default_factory=lambda: [1024, 512, 256])
    net_dropout: float = 0.1
    batch_norm: bool = True
    use_user_id: bool = False  # the baseline leaves user_id out (a user has ~3 rows)
    use_item_levels: bool = True  # likes/views levels as item-side features (target and history)

    def __post_init__(self):
        if self.embedding_dim < 1:
            raise ValueError("embedding_dim must be >= 1")
        if not self.attention_hidden or min(self.attention_hidden) < 1:
            raise ValueError("attention_hidden must be a non-empty list of positive sizes")


class DIN(RowInputsModel):
    Params = DINParams
    TRAIN_DEFAULTS = train_defaults(__file__)

    def __init__(self, spec, params: DINParams):
        super().__init__()
        e = params.embedding_dim
        self.items = ItemFeatureEmbedding(spec, e, use_levels=params.use_item_levels)
        d = self.items.out_dim
        self.attention = TargetAttention(d, params.attention_hidden, params.attention_activation,
                                         params.attention_dropout, params.use_softmax)
        in_dim = 2 * d + self.init_row_inputs(spec, e, params.use_user_id)
        self.dnn, out = mlp(in_dim, params.dnn_hidden, params.net_dropout, params.batch_norm)
        self.head = nn.Linear(out, 1)
        baseline_init(self)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target, keys, key_index, row = encode_batch_items(self.items, batch["item_id"], batch["item_seq"])
        interest = self.attention(target, keys, key_index, row)
        return self.head(self.dnn(self.row_inputs(batch, target, interest))).squeeze(-1)
