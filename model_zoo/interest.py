"""Softmax target attention over a packed history: the interest extractors the challenge's DIN
variants added beside DIN's local activation unit.

Keys and values are linear in the history item, so they are projected once per distinct item of the
batch; per history position only the dot products and the weighted sum remain.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from .layers import packed_softmax_attention


class MultiHeadTargetAttention(nn.Module):
    """FuxiCTR's ``MultiHeadTargetAttention``: ``W_o softmax(W_q t · W_k h / √d_head) W_v h`` per head,
    projections without bias, dropout on the attention weights (the Task-2 award entry's attention)."""

    def __init__(self, dim: int, attention_dim: int, heads: int, dropout: float):
        super().__init__()
        if attention_dim % heads:
            raise ValueError(f"target attention width {attention_dim} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.w_q = nn.Linear(dim, attention_dim, bias=False)
        self.w_kv = nn.Linear(dim, 2 * attention_dim, bias=False)
        self.w_o = nn.Linear(attention_dim, dim, bias=False)

    def forward(self, target, keys, key_index, row):
        k, v = self.w_kv(keys).chunk(2, dim=-1)
        out = packed_softmax_attention(self.w_q(target), k, v, key_index, row, self.heads, self.dropout, self.training)
        return self.w_o(out)


def norm_layer(kind: str, dim: int) -> nn.Module:
    return nn.RMSNorm(dim, eps=1e-6) if kind == "rms" else nn.LayerNorm(dim)


class TargetCrossAttentionLayer(nn.Module):
    """One of Gavin113's stacked target cross-attention layers (``CrossAttention_Layer``):

    ``a = MHA(q = P_q s, k = P_k n(h), v = P_v n(h))`` with linear pre-projections P (with bias) in front
    of the attention's own in/out projections; ``s' = n(s + drop(a))``; ``out = s' + drop(FFN(s'))``,
    FFN = Linear → ReLU → Dropout → Linear. One norm ``n`` (RMSNorm as published) serves both places.
    """

    def __init__(self, dim: int, heads: int, feedforward: int, dropout: float, norm: str):
        super().__init__()
        if dim % heads:
            raise ValueError(f"cross-attention width {dim} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.pre_q = nn.Linear(dim, dim)
        self.pre_kv = nn.Linear(dim, 2 * dim)
        self.in_proj = nn.Linear(dim, 3 * dim)  # nn.MultiheadAttention's q, k, v projections
        self.out_proj = nn.Linear(dim, dim)
        self.norm = norm_layer(norm, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, feedforward), nn.ReLU(), nn.Dropout(dropout), nn.Linear(feedforward, dim))

    def torch_init(self) -> None:
        """nn.MultiheadAttention's own init of its projections (FuxiCTR resets plain nn.Linear only)."""
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        self.out_proj.reset_parameters()
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, state, keys, key_index, row):
        w_q, w_k, w_v = self.in_proj.weight.chunk(3)
        b_q, b_k, b_v = self.in_proj.bias.chunk(3)
        pre_k, pre_v = self.pre_kv(self.norm(keys)).chunk(2, dim=-1)
        q = F.linear(self.pre_q(state), w_q, b_q)
        k, v = F.linear(pre_k, w_k, b_k), F.linear(pre_v, w_v, b_v)
        a = self.out_proj(packed_softmax_attention(q, k, v, key_index, row, self.heads, self.dropout, self.training))
        s = self.norm(state + F.dropout(a, self.dropout, self.training))
        return s + F.dropout(self.ffn(s), self.dropout, self.training)


class TargetCrossAttention(nn.Module):
    """Stacked TargetCrossAttentionLayers: the target is the first query, each layer's output the next
    one's; every layer attends to the same history items."""

    def __init__(self, dim: int, layers: int, heads: int, feedforward: int, dropout: float,
                 norm: Literal["rms", "layer"] = "rms"):
        super().__init__()
        self.layers = nn.ModuleList(TargetCrossAttentionLayer(dim, heads, feedforward, dropout, norm)
                                    for _ in range(layers))

    def torch_init(self) -> None:
        for layer in self.layers:
            layer.torch_init()

    def forward(self, target: torch.Tensor, keys, key_index, row) -> torch.Tensor:
        state = target
        for layer in self.layers:
            state = layer(state, keys, key_index, row)
        return state


class SqueezeExcitation(nn.Module):
    """SENet field re-weighting (FuxiCTR's ``SqueezeExcitation``): each field's mean → a bottleneck
    MLP without biases → one weight per field (ReLU or sigmoid) → the fields scaled by it."""

    def __init__(self, n_fields: int, reduction: float, activation: Literal["relu", "sigmoid"] = "relu"):
        super().__init__()
        hidden = max(1, int(n_fields / reduction))
        self.n_fields = n_fields
        self.excitation = nn.Sequential(nn.Linear(n_fields, hidden, bias=False), nn.ReLU(),
                                        nn.Linear(hidden, n_fields, bias=False),
                                        nn.ReLU() if activation == "relu" else nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, n_fields * width), the fields side by side."""
        fields = x.view(x.shape[0], self.n_fields, -1)
        return (fields * self.excitation(fields.mean(-1)).unsqueeze(-1)).flatten(1)
