"""Self-attention over the history, masked mean pooling, then a DNN over [user, target, interest].

The seed project's design (Projet_competition). Defaults in this folder's config.yaml."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from mmbench.contract.components import train_defaults
from mmbench.contract.params import DEPTH, HEADS, WIDTH, added_later, check_bounds, declare_bounds

from ..layers import ItemFeatureEmbedding, RowInputsModel, mlp


@dataclass
class AttentionDNNParams:
    embedding_dim: int = 32  # width of each item-side part (id, tags, multimodal, levels)
    attention_dim: int = 32  # width of the history tokens the attention runs over
    num_heads: int = 4
    attention_layers: int = 1
    dnn_hidden: list[int] = field(default_factory=lambda: [512, 256, 128])
    dropout: float = 0.1
    batch_norm: bool = True
    use_user_id: bool = True
    id_dropout: float = added_later(0.0)  # P(an item's id embedding is zeroed in training), for cold items
    item_tags: bool = added_later(True)  # False: no tag part (a control without content)

    def __post_init__(self):
        check_bounds(self)  # the ranges are declared once, below; what follows relates two fields
        if self.attention_dim % self.num_heads:
            raise ValueError(f"attention_dim={self.attention_dim} is not divisible by num_heads={self.num_heads}")


declare_bounds(AttentionDNNParams, embedding_dim=WIDTH, attention_dim=WIDTH, num_heads=HEADS,
               attention_layers=DEPTH, dnn_hidden=WIDTH)


class SelfAttentionBlock(nn.Module):
    """Post-norm multi-head self-attention with a residual connection; padded keys are masked.

    Uses ``scaled_dot_product_attention`` (fused kernels on CPU and GPU) rather than
    nn.MultiheadAttention, whose attention-weight dropout and softmax dominate the cost on CPU.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=~pad[:, None, None, :])
        return self.norm(x + self.out(attn.transpose(1, 2).reshape(b, n, d)))


class AttentionDNN(RowInputsModel):
    Params = AttentionDNNParams
    TRAIN_DEFAULTS = train_defaults(__file__)

    def __init__(self, spec, params: AttentionDNNParams):
        super().__init__()
        e, a = params.embedding_dim, params.attention_dim
        self.items = ItemFeatureEmbedding(spec, e, id_dropout=params.id_dropout, use_tags=params.item_tags)
        self.to_tokens = nn.Linear(self.items.out_dim, a)
        self.pos_emb = nn.Parameter(torch.zeros(spec.seq_len, a))
        self.blocks = nn.ModuleList(SelfAttentionBlock(a, params.num_heads)
                                    for _ in range(params.attention_layers))
        in_dim = 3 * a + self.init_row_inputs(spec, e, params.use_user_id, items_first=True)
        self.dnn, out = mlp(in_dim, params.dnn_hidden, params.dropout, params.batch_norm)
        self.head = nn.Linear(out, 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        seq = batch["item_seq"].long()
        # histories are left-padded: columns that are padding in every row change nothing, drop them
        longest = int((seq != 0).sum(1).max()) if seq.numel() else 0
        seq = seq[:, seq.shape[1] - max(longest, 1):]
        pad = seq == 0
        empty = pad.all(1)
        if empty.any():  # a row with no history attends to one (zero) padding slot instead of nothing
            pad = pad.clone()
            pad[empty, -1] = False
        hist = self.to_tokens(self.items(seq)) + self.pos_emb[self.pos_emb.shape[0] - seq.shape[1]:]
        for block in self.blocks:
            hist = block(hist, pad)
        keep = (~pad).unsqueeze(-1).to(hist.dtype)
        interest = (hist * keep).sum(1) / keep.sum(1).clamp(min=1)
        target = self.to_tokens(self.items(batch["item_id"]))
        return self.head(self.dnn(self.row_inputs(batch, target, interest, target * interest))).squeeze(-1)
