"""Quadratic Interest Network (QIN): the MMCTR challenge's 2nd place (team DISCO.AHU, salmon1802/QIN).

* Adaptive sparse target attention: the score of history item h for target t is
  ``(W_q t)·(W_k h) / sqrt(A)``, passed through a ReLU instead of a softmax (weights are sparse and
  unnormalised), pooled as ``W_o Σ relu(score) W_v h``, plus the target (residual).
* Quadratic neural network over [row levels, target, pooled interest]: each layer is
  ``x ← x + drop(PReLU(BN(x ⊙ Σ_r drop(W_r x + b_r))))`` with R rows of weights, then a linear logit.

Computed on the non-padded history positions only, and by associativity: ``(W_kᵀ W_q t)·h`` and
``W_o W_v Σ relu(score) h`` never form a per-position A-wide vector — the same function.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mmbench.contract.components import train_defaults
from mmbench.contract.params import DEPTH, WIDTH, Bounds, added_later, check_bounds, declare_bounds

from ..layers import ItemFeatureEmbedding, RowInputsModel, baseline_init, encode_batch_items
from . import authors


@dataclass
class QINParams:
    embedding_dim: int = 128
    vector_dim: int = 128  # width of the projected multimodal vector
    item_levels: bool = False  # likes/views as item-side features too (the "level features" variant)
    attention_dim: int = 0  # 0 = twice the item width (published)
    attention_scale: bool = True  # divide scores by sqrt(attention_dim)
    qnn_layers: int = 4  # published num_layers
    num_row: int = 4  # R; the authors' README: 4 is best but trains unstably in some environments, use 3 then
    net_dropout: float = 0.1
    batch_norm: bool = True
    use_user_id: bool = False
    id_dropout: float = added_later(0.0)  # P(an item's id embedding is zeroed in training), for cold items
    item_tags: bool = added_later(True)  # False: no tag part (a control without content)
    # True: a row's likes/views level 0 embeds as zeros, as FuxiCTR's padding_idx 0 does (the authors' code)
    zero_level_is_padding: bool = added_later(False)

    def __post_init__(self):
        check_bounds(self)  # the ranges are declared once, below


declare_bounds(QINParams, embedding_dim=WIDTH, vector_dim=WIDTH, attention_dim=Bounds(ge=0, le=65_536),
               qnn_layers=DEPTH, num_row=Bounds(ge=1, le=64))


class SparseTargetAttention(nn.Module):
    """QIN's adaptive sparse target attention over packed history positions."""

    def __init__(self, dim: int, attention_dim: int, scale: bool = True):
        super().__init__()
        self.w_q = nn.Linear(dim, attention_dim, bias=False)
        self.w_k = nn.Linear(dim, attention_dim, bias=False)
        self.w_v = nn.Linear(dim, attention_dim, bias=False)
        self.w_o = nn.Linear(attention_dim, dim, bias=False)
        self.scale = attention_dim ** 0.5 if scale else 1.0

    def forward(self, target: torch.Tensor, keys: torch.Tensor, key_index: torch.Tensor, row: torch.Tensor):
        """target (B, D); keys (U, D) distinct history items; per valid position its index into keys
        and its batch row. Returns (B, D)."""
        query = self.w_k.weight.t() @ self.w_q.weight  # (D, D): score = (query t)·h
        probe = F.linear(target, query) / self.scale
        k = keys.index_select(0, key_index)
        weight = F.relu((probe.index_select(0, row) * k).sum(-1))
        pooled = torch.zeros_like(target).index_add_(0, row, weight.unsqueeze(-1) * k)
        return self.w_o(self.w_v(pooled)) + target


class QuadraticLayer(nn.Module):
    """``x ⊙ Σ_r drop(W_r x + b_r)``, the R rows held by one Linear(d, R·d)."""

    def __init__(self, dim: int, rows: int, dropout: float):
        super().__init__()
        self.linear = nn.Linear(dim, rows * dim)
        self.rows, self.dropout = rows, dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.dropout > 0:  # each row dropped out on its own: all R rows needed
            h = F.dropout(self.linear(x), self.dropout, True).view(*x.shape[:-1], self.rows, x.shape[-1]).sum(-2)
        else:  # Σ_r (W_r x + b_r) = (Σ_r W_r) x + Σ_r b_r: R times fewer products
            d = x.shape[-1]
            h = F.linear(x, self.linear.weight.view(self.rows, d, d).sum(0), self.linear.bias.view(self.rows, d).sum(0))
        return x * h


class QuadraticNetwork(nn.Module):
    def __init__(self, dim: int, layers: int, rows: int, dropout: float, batch_norm: bool):
        super().__init__()
        self.layers = nn.ModuleList(QuadraticLayer(dim, rows, dropout) for _ in range(layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(dim) if batch_norm else nn.Identity() for _ in range(layers))
        self.activations = nn.ModuleList(nn.PReLU() for _ in range(layers))
        self.dropout = dropout
        self.fc = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, norm, act in zip(self.layers, self.norms, self.activations):
            x = x + F.dropout(act(norm(layer(x))), self.dropout, self.training)
        return self.fc(x).squeeze(-1)


class QIN(RowInputsModel):
    Params = QINParams
    TRAIN_DEFAULTS = train_defaults(__file__)
    AUTHORS_CODE = authors.AUTHORS_CODE

    def __init__(self, spec, params: QINParams):
        super().__init__()
        e = params.embedding_dim
        self.items = ItemFeatureEmbedding(spec, e, use_levels=params.item_levels, vector_dim=params.vector_dim,
                                 vector_bias=False, id_dropout=params.id_dropout, use_tags=params.item_tags)
        d = self.items.out_dim
        self.attention = SparseTargetAttention(d, params.attention_dim or 2 * d, params.attention_scale)
        in_dim = 2 * d + self.init_row_inputs(spec, e, params.use_user_id,
                                                   zero_level_is_padding=params.zero_level_is_padding)
        self.qnn = QuadraticNetwork(in_dim, params.qnn_layers, params.num_row, params.net_dropout, params.batch_norm)
        baseline_init(self)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target, keys, key_index, row = encode_batch_items(self.items, batch["item_id"], batch["item_seq"])
        interest = self.attention(target, keys, key_index, row)
        return self.qnn(self.row_inputs(batch, target, interest))
