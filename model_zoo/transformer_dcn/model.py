"""Transformer over [history item ‖ target] + DCNv2: the MMCTR challenge's 1st place (team momo).

Each history position carries the history item's features concatenated with the target's; a post-norm
Transformer encoder runs over them; the outputs of the last ``first_k`` positions (flattened) and a
max-pool over the sequence, through a linear layer, join the row's level embeddings and the target
in a DCNv2 (cross layers ∥ DNN) whose outputs feed a small MLP.

``mask`` chooses which positions exist for the Transformer:

* ``correct`` (default): the real history items. Padding is never a key, its outputs are zero, the
  max-pool runs over real items only; a row without history contributes zeros.
* ``published``: what the published code computes. Its loader's mask is 1 on real items and is
  passed as ``src_key_padding_mask`` (True = ignore), so the keys are the *padding* positions, the
  outputs at real items are zeroed, and the max-pool runs over padding. A row whose 64 positions
  are all real keeps its last position (the published ``adjust_mask``).

Only the positions that exist are computed ("packed"): a history has on average far fewer real items
than slots. The first layer's input projection is linear in [item ‖ target], so it is computed once
per distinct item and once per row instead of once per position — the same function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from mmbench.contract.components import train_defaults
from mmbench.contract.params import DEPTH, HEADS, WIDTH, Bounds, added_later, check_bounds, declare_bounds

from ..layers import CrossNet, ItemFeatureEmbedding, RowInputsModel, baseline_init, mlp
from . import authors


@dataclass
class TransformerDCNParams:
    embedding_dim: int = 64
    vector_dim: int = 128  # width of the projected multimodal vector (the published item_emb_d128: 128)
    item_levels: bool = False  # likes/views as item-side features too (published: row features only)
    id_dropout: float = added_later(0.0)  # P(an item's id embedding is zeroed in training), for cold items
    item_tags: bool = added_later(True)  # False: no tag part (a control without content)
    # True: a row's likes/views level 0 embeds as zeros, as FuxiCTR's padding_idx 0 does (the authors' code)
    zero_level_is_padding: bool = added_later(False)
    transformer_layers: int = 2
    num_heads: int = 1
    dim_feedforward: int = 256
    transformer_dropout: float = 0.2
    first_k: int = 16  # outputs of the last k positions, flattened (published first_k_cols)
    max_pool: bool = True  # + a linear layer over the max-pool of all outputs (published concat_max_pool)
    mask: Literal["correct", "published"] = "correct"
    cross_layers: int = 3
    low_rank: int = 0  # 0 = full-rank cross weights (published); r > 0: W = U V
    dnn_hidden: list[int] = field(default_factory=lambda: [1024, 512, 256])
    net_dropout: float = 0.2
    batch_norm: bool = False
    mlp_hidden: list[int] = field(default_factory=lambda: [64, 32])
    use_user_id: bool = False

    def __post_init__(self):
        check_bounds(self)  # the ranges are declared once, below; what follows relates two fields
        if self.first_k == 0 and not self.max_pool:
            raise ValueError("first_k is 0 and max_pool is false: the Transformer's output would be empty")


declare_bounds(TransformerDCNParams, embedding_dim=WIDTH, vector_dim=WIDTH, transformer_layers=Bounds(ge=1, le=64),
               num_heads=HEADS, dim_feedforward=WIDTH, first_k=Bounds(ge=0, le=4096), cross_layers=DEPTH,
               low_rank=Bounds(ge=0, le=65_536), dnn_hidden=WIDTH, mlp_hidden=WIDTH)


def kept_positions(item_seq: torch.Tensor, mask: str) -> torch.Tensor:
    """(B, L) bool: the positions the Transformer computes; every other position outputs zero."""
    real = item_seq != 0
    if mask == "correct":
        return real
    keep = ~real  # published: the loader's "1 = real item" read as "True = ignore"
    keep[:, -1] |= real.all(1)  # published adjust_mask: a full row keeps its last position
    return keep


@dataclass
class Packing:
    """The kept positions of a batch, row-major, and their place in a compact (B, W) layout."""

    row: torch.Tensor  # (N,) batch row of each kept position
    pos: torch.Tensor  # (N,) its position in the history (0..L-1)
    flat: torch.Tensor  # (N,) row * width + slot: its index in the compact layout
    valid: torch.Tensor  # (B, W) bool: slot holds a kept position
    width: int
    batch: int
    seq_len: int

    @classmethod
    def of(cls, keep: torch.Tensor) -> "Packing":
        b, seq_len = keep.shape
        row, pos = keep.nonzero(as_tuple=True)
        count = keep.sum(1)
        width = int(count.max()) if b else 0
        start = torch.cumsum(count, 0) - count
        slot = torch.arange(row.numel(), device=keep.device) - start.index_select(0, row)
        valid = torch.arange(width, device=keep.device)[None, :] < count[:, None]
        return cls(row, pos, row * width + slot, valid, width, b, seq_len)

    def spread(self, values: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """(N, C) packed values → (B, W, C) compact layout, ``fill`` at empty slots."""
        out = values.new_full((self.batch * self.width, values.shape[-1]), fill)
        return out.index_copy(0, self.flat, values).view(self.batch, self.width, -1)


class PostNormEncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer`` (post-norm, ReLU, batch-first) on packed positions: keys of a
    row are its kept positions only. Parameter names and layouts match torch's layer."""

    def __init__(self, dim: int, heads: int, feedforward: int, dropout: float):
        super().__init__()
        if dim % heads:
            raise ValueError(f"the Transformer width {dim} is not divisible by num_heads={heads}")
        self.heads, self.dropout = heads, dropout
        self.in_proj = nn.Linear(dim, 3 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.linear1 = nn.Linear(dim, feedforward)
        self.linear2 = nn.Linear(feedforward, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def torch_init(self) -> None:
        """What the published model's weights start from: nn.MultiheadAttention's own init of the
        attention projections (FuxiCTR's Xavier-normal reset only reaches plain nn.Linear)."""
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        self.out_proj.reset_parameters()
        nn.init.zeros_(self.out_proj.bias)

    def attend(self, qkv: torch.Tensor, pack: Packing) -> torch.Tensor:
        dim = qkv.shape[-1] // 3
        b, w, h = pack.batch, pack.width, self.heads
        q, k, v = pack.spread(qkv).view(b, w, 3, h, dim // h).permute(2, 0, 3, 1, 4)
        allowed = pack.valid.clone()
        allowed[:, 0] = True  # a row with no kept position attends to an empty slot; never read back
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None, None, :], dropout_p=p)
        return out.transpose(1, 2).reshape(b * w, dim).index_select(0, pack.flat)

    def forward(self, x: torch.Tensor, pack: Packing, qkv: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, dim) packed tokens; ``qkv`` the input projection of x when the caller has it."""
        p, training = self.dropout, self.training
        attn = self.out_proj(self.attend(self.in_proj(x) if qkv is None else qkv, pack))
        x = self.norm1(x + F.dropout(attn, p, training))
        ff = self.linear2(F.dropout(F.relu(self.linear1(x)), p, training))
        return self.norm2(x + F.dropout(ff, p, training))


class TargetAwareTransformer(nn.Module):
    """Transformer over [item ‖ target] tokens of the kept positions → (last k outputs, flattened;
    linear(max-pool of the outputs)). Positions that are not kept output zero."""

    def __init__(self, item_dim: int, layers: int, heads: int, feedforward: int, dropout: float,
                 first_k: int, max_pool: bool):
        super().__init__()
        dim = 2 * item_dim
        self.item_dim, self.first_k = item_dim, first_k
        self.layers = nn.ModuleList(PostNormEncoderLayer(dim, heads, feedforward, dropout) for _ in range(layers))
        self.out_linear = nn.Linear(dim, dim) if max_pool else None
        self.out_dim = (first_k + int(max_pool)) * dim

    def forward(self, items: torch.Tensor, token_item: torch.Tensor, target: torch.Tensor, pack: Packing):
        """items (U, D) item vectors; ``token_item`` (N,) the row of ``items`` each kept position
        holds; target (B, D). Returns (B, out_dim)."""
        first = self.layers[0]
        w_item, w_target = first.in_proj.weight.split(self.item_dim, dim=1)
        # W [item ‖ target] + b = W_i item + (W_t target + b): per distinct item and per row
        qkv = (F.linear(items, w_item).index_select(0, token_item)
               + F.linear(target, w_target, first.in_proj.bias).index_select(0, pack.row))
        x = torch.cat([items.index_select(0, token_item), target.index_select(0, pack.row)], dim=-1)
        for i, layer in enumerate(self.layers):
            x = layer(x, pack, qkv if i == 0 else None)
        return torch.cat(self.readout(x, pack), dim=-1)

    def readout(self, y: torch.Tensor, pack: Packing) -> list[torch.Tensor]:
        dim, k = y.shape[-1], self.first_k
        parts = []
        if k:
            recent = pack.pos >= pack.seq_len - k
            slot = pack.row[recent] * k + pack.pos[recent] - (pack.seq_len - k)
            last = y.new_zeros(pack.batch * k, dim).index_copy(0, slot, y[recent])
            parts.append(last.view(pack.batch, k * dim))
        if self.out_linear is not None:
            pooled = pack.spread(y, float("-inf")).max(dim=1).values if pack.width else y.new_zeros(pack.batch, dim)
            pooled = pooled.masked_fill(~pack.valid.any(1, keepdim=True), 0.0)  # no kept position: zeros
            parts.append(self.out_linear(pooled))
        return parts


class TransformerDCN(RowInputsModel):
    Params = TransformerDCNParams
    TRAIN_DEFAULTS = train_defaults(__file__)
    AUTHORS_CODE = authors.AUTHORS_CODE
    PEERS = authors.PEERS

    @classmethod
    def flop_count(cls, params: dict, item_seq) -> dict:
        from .flops import mean_kept_positions, transformer_dcn_flops

        kept = mean_kept_positions(item_seq, params["mask"])
        return {**transformer_dcn_flops(params, positions=kept), "note": f"transformer over {kept:.1f} positions per row"}

    def __init__(self, spec, params: TransformerDCNParams):
        super().__init__()
        e = params.embedding_dim
        self.mask = params.mask
        self.items = ItemFeatureEmbedding(spec, e, use_levels=params.item_levels, vector_dim=params.vector_dim,
                                 vector_bias=False, id_dropout=params.id_dropout, use_tags=params.item_tags)
        d = self.items.out_dim
        self.sequence = TargetAwareTransformer(d, params.transformer_layers, params.num_heads,
                                               params.dim_feedforward, params.transformer_dropout,
                                               params.first_k, params.max_pool)
        in_dim = d + self.sequence.out_dim + self.init_row_inputs(spec, e, params.use_user_id,
                                                   zero_level_is_padding=params.zero_level_is_padding)
        self.cross = CrossNet(in_dim, params.cross_layers, params.low_rank)
        self.dnn, dnn_out = mlp(in_dim, params.dnn_hidden, params.net_dropout, params.batch_norm)
        head, head_out = mlp(in_dim + dnn_out, params.mlp_hidden)
        self.head = nn.Sequential(head, nn.Linear(head_out, 1))
        baseline_init(self)
        for layer in self.sequence.layers:
            layer.torch_init()

    def sequence_features(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(target vectors (B, D), Transformer readout (B, sequence.out_dim))."""
        item_seq, target_ids = batch["item_seq"].long(), batch["item_id"].long()
        pack = Packing.of(kept_positions(item_seq, self.mask))
        kept_ids = item_seq[pack.row, pack.pos]
        uniq, inverse = torch.unique(torch.cat([target_ids, kept_ids]), return_inverse=True)
        items = self.items.represent(uniq)  # each distinct item once; id 0 (padding) is the zero vector
        n = target_ids.shape[0]
        target = items.index_select(0, inverse[:n])
        return target, self.sequence(items, inverse[n:], target, pack)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target, seq = self.sequence_features(batch)
        x0 = self.row_inputs(batch, target, seq)
        h = torch.cat([self.cross(x0), self.dnn(x0)], dim=-1)
        return self.head(h).squeeze(-1)
