"""Deep Interest Network with the semantics of the MMCTR challenge's official baseline, and the options
the challenge's DIN variants added.

Target and history items share one ``ItemFeatureEmbedding`` (id, pooled tags, projected multimodal
vector, likes/views levels, the reducer's codes if any). Each distinct item of a batch is encoded
once; the local activation unit runs on the non-padded history positions only (``TargetAttention``); the pooled interest joins the target and
the row's features in a DNN.

Options, each off by default: a multi-head softmax target attention beside the local activation unit
(``target_attention_heads``, the Task-2 award entry), stacked target cross-attention layers with RMSNorm
(``cross_attention_layers``, Gavin113), SENet re-weighting of the DNN's input fields
(``senet_reduction``, the award entry); each extra interest joins the DNN input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from mmbench.contract.components import train_defaults
from mmbench.contract.params import DEPTH, HEADS, WIDTH, Bounds, added_later, check_bounds, declare_bounds

from ..interest import MultiHeadTargetAttention, SqueezeExcitation, TargetCrossAttention
from ..layers import ItemFeatureEmbedding, RowInputsModel, TargetAttention, baseline_init, encode_batch_items, mlp
from . import authors


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
    vector_dim: int = 0  # width of the projected multimodal vector; 0 = embedding_dim
    id_dropout: float = added_later(0.0)  # P(an item's id embedding is zeroed in training), for cold items
    item_tags: bool = added_later(True)  # False: no tag part (a control without content)
    # False: the multimodal projection has no bias, as FuxiCTR's pretrained-embedding layer (the baseline)
    vector_bias: bool = added_later(True)
    # True: the attention MLP's Dice/batch-norm statistics also cover the padded history positions, as in
    # FuxiCTR's DIN_Attention (the baseline); False: real history items only
    attention_padding_stats: bool = added_later(False)
    # True: a row's likes/views level 0 embeds as zeros, as FuxiCTR's padding_idx 0 does (the baseline)
    zero_level_is_padding: bool = added_later(False)
    target_attention_heads: int = 0  # > 0: add a multi-head softmax target attention (award entry)
    target_attention_dim: int = 0  # its width; 0 = the item width
    cross_attention_layers: int = 0  # > 0: add stacked target cross-attention layers (Gavin113)
    cross_attention_heads: int = 4
    cross_attention_ff: int = 0  # feed-forward width; 0 = the item width
    cross_attention_norm: Literal["rms", "layer"] = "rms"
    senet_reduction: float = 0.0  # > 0: SENet over the DNN input fields with this reduction ratio
    senet_activation: Literal["relu", "sigmoid"] = "relu"

    def __post_init__(self):
        check_bounds(self)  # the ranges are declared once, below; what follows is not a range
        if not self.attention_hidden:
            raise ValueError("attention_hidden must be a non-empty list of positive sizes")
        if self.senet_reduction and self.vector_dim not in (0, self.embedding_dim):
            raise ValueError(f"senet_reduction needs fields of one width: vector_dim={self.vector_dim} "
                             f"must be 0 or embedding_dim={self.embedding_dim}")


declare_bounds(DINParams, embedding_dim=WIDTH, attention_hidden=WIDTH, dnn_hidden=WIDTH,
               vector_dim=Bounds(ge=0, le=65_536), target_attention_heads=Bounds(ge=0, le=256),
               target_attention_dim=Bounds(ge=0, le=65_536), cross_attention_layers=DEPTH, cross_attention_heads=HEADS,
               cross_attention_ff=Bounds(ge=0, le=65_536), senet_reduction=Bounds(ge=0, le=1024))


class DIN(RowInputsModel):
    Params = DINParams
    TRAIN_DEFAULTS = train_defaults(__file__)
    AUTHORS_CODE = authors.AUTHORS_CODE
    PEERS = authors.PEERS

    def __init__(self, spec, params: DINParams):
        super().__init__()
        e, p = params.embedding_dim, params
        self.items = ItemFeatureEmbedding(spec, e, use_levels=p.use_item_levels, vector_dim=p.vector_dim or e,
                                          vector_bias=p.vector_bias, id_dropout=p.id_dropout, use_tags=p.item_tags)
        d = self.items.out_dim
        self.attention = TargetAttention(d, p.attention_hidden, p.attention_activation, p.attention_dropout,
                                         p.use_softmax, p.attention_padding_stats)
        self.interests = nn.ModuleList()
        if p.target_attention_heads:
            self.interests.append(MultiHeadTargetAttention(d, p.target_attention_dim or d, p.target_attention_heads,
                                                           p.attention_dropout))
        if p.cross_attention_layers:
            self.interests.append(TargetCrossAttention(d, p.cross_attention_layers, p.cross_attention_heads,
                                                       p.cross_attention_ff or d, p.attention_dropout,
                                                       p.cross_attention_norm))
        in_dim = (2 + len(self.interests)) * d + self.init_row_inputs(spec, e, p.use_user_id,
                                                                         zero_level_is_padding=p.zero_level_is_padding)
        self.senet = SqueezeExcitation(in_dim // e, p.senet_reduction, p.senet_activation) if p.senet_reduction else None
        self.dnn, out = mlp(in_dim, p.dnn_hidden, p.net_dropout, p.batch_norm)
        self.head = nn.Linear(out, 1)
        baseline_init(self)
        for branch in self.interests:
            if hasattr(branch, "torch_init"):
                branch.torch_init()

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target, keys, key_index, row = encode_batch_items(self.items, batch["item_id"], batch["item_seq"])
        interests = [self.attention(target, keys, key_index, row, batch["item_seq"].shape[1])]
        interests += [branch(target, keys, key_index, row) for branch in self.interests]
        x = self.row_inputs(batch, target, *interests)
        if self.senet is not None:
            x = self.senet(x)
        return self.head(self.dnn(x)).squeeze(-1)
