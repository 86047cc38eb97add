"""Self-attention over the history, masked mean pooling, then a DNN over [user, target, interest].

The seed project's design (Projet_competition). Defaults in this folder's config.yaml."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from mmbench.config import load_defaults

from ..layers import ItemEncoder, mlp


@dataclass
class AttentionDNNParams:
    embedding_dim: int = 32
    num_heads: int = 4
    attention_layers: int = 1
    dnn_hidden: list[int] = field(default_factory=lambda: [512, 256, 128])
    dropout: float = 0.1
    batch_norm: bool = True
    use_user_id: bool = True

    def __post_init__(self):
        if self.embedding_dim < 1 or self.num_heads < 1 or self.attention_layers < 0:
            raise ValueError("embedding_dim and num_heads must be >= 1, attention_layers >= 0")


class AttentionDNN(nn.Module):
    Params = AttentionDNNParams
    DEFAULTS = load_defaults(__file__)

    def __init__(self, spec, params: AttentionDNNParams):
        super().__init__()
        e = params.embedding_dim
        self.items = ItemEncoder(spec, e)
        d = self.items.out_dim
        if d % params.num_heads:
            raise ValueError(f"item representation width {d} is not divisible by num_heads={params.num_heads}")
        self.pos_emb = nn.Parameter(torch.zeros(spec.seq_len, d))
        layer = nn.TransformerEncoderLayer(d, params.num_heads, dim_feedforward=2 * d, dropout=params.dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, params.attention_layers, enable_nested_tensor=False) \
            if params.attention_layers else None
        self.user_emb = nn.Embedding(spec.n_users, e) if params.use_user_id else None
        self.level_emb = nn.Embedding(spec.n_levels * 2, e)
        self.n_levels = spec.n_levels
        in_dim = 3 * d + 2 * e + (e if params.use_user_id else 0)
        self.dnn, out = mlp(in_dim, params.dnn_hidden, params.dropout, params.batch_norm)
        self.head = nn.Linear(out, 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        seq = batch["item_seq"].long()
        pad = seq == 0
        empty = pad.all(1)
        if empty.any():  # a row with no history attends to one (zero) padding slot instead of nothing
            pad = pad.clone()
            pad[empty, -1] = False
        b, length = seq.shape
        # each distinct item of the batch is encoded once, then gathered into the (B, L) layout
        uniq, inverse = torch.unique(torch.cat([batch["item_id"].long(), seq.reshape(-1)]), return_inverse=True)
        reps = self.items(uniq)
        target = reps.index_select(0, inverse[:b])
        hist = reps.index_select(0, inverse[b:]).view(b, length, -1) + self.pos_emb
        if self.encoder is not None:
            hist = self.encoder(hist, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(hist.dtype)
        interest = (hist * keep).sum(1) / keep.sum(1).clamp(min=1)
        parts = [target, interest, target * interest,
                 self.level_emb(batch["likes_level"].long()),
                 self.level_emb(batch["views_level"].long() + self.n_levels)]
        if self.user_emb is not None:
            parts.append(self.user_emb(batch["user_id"].long()))
        return self.head(self.dnn(torch.cat(parts, dim=-1))).squeeze(-1)
