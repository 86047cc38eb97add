"""Building blocks shared by the zoo's models: the item-feature embedding every model uses (so a new
item-side feature, e.g. a reducer's codes, reaches all of them), the row inputs, attention, cross layers."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mmbench.contract.components import Model, mark_pretrained_projection


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


class ItemFeatureEmbedding(nn.Module):
    """Item id → learned representation from the item-side features, all looked up by id (the model
    layer; not to be confused with the encoder plugins, which make the multimodal vectors it projects).

    Parts (concatenated): id embedding, tag embeddings mean-pooled over the non-padding tags (each
    ``dim`` wide), the multimodal vector through a linear layer (``vector_dim`` wide, default ``dim``;
    FuxiCTR's pretrained-embedding projection has no bias: ``vector_bias=False``; absent when the
    reducer hands out codes only), likes/views level embeddings (``dim``), and the sum of the
    reducer's code embeddings (one table per code level, ``dim``) when it hands out codes. The padding
    id 0 gives zeros in every item-side part.
    Works on any id tensor shape: (B,) for targets, (B, L) for histories.

    ``use_tags=False`` leaves the tag part out: with a content-free vector (the `random` encoder) the
    item is then known by its id and levels only, a control without any content.

    ``id_dropout`` p > 0 (DropoutNet's input dropout): in training, each distinct item of a batch has its
    id embedding zeroed with probability p, not rescaled. An item never seen in train keeps its
    near-zero initial id embedding, so this shows the model, while it trains, the state it meets on
    cold items, and teaches it to score an item from its content parts alone.
    """

    def __init__(self, spec, dim: int, use_levels: bool = True, vector_dim: int | None = None,
                 vector_bias: bool = True, id_dropout: float = 0.0, use_tags: bool = True):
        super().__init__()
        if not 0.0 <= id_dropout < 1.0:
            raise ValueError(f"id_dropout must be in [0, 1), got {id_dropout}")
        self.id_dropout = id_dropout
        self.features = spec.item_features
        self.id_emb = nn.Embedding(spec.n_items, dim, padding_idx=0)
        self.tag_emb = nn.Embedding(spec.n_tags, dim, padding_idx=0) if use_tags else None
        vector_dim = (vector_dim or dim) if spec.vec_dim else 0
        self.vec_proj = (mark_pretrained_projection(nn.Linear(spec.vec_dim, vector_dim, bias=vector_bias))
                         if spec.vec_dim else None)
        self.use_levels = use_levels
        if use_levels:
            self.level_emb = nn.Embedding(spec.n_levels * 2, dim)
        self.n_levels = spec.n_levels
        vocab = list(spec.code_vocab)
        if vocab:  # one table for all levels; level j's codes start at offset sum(vocab[:j])
            self.code_emb = nn.Embedding(sum(vocab), dim)
            self.register_buffer("code_offsets", torch.tensor([0] + vocab[:-1]).cumsum(0), persistent=False)
        else:
            self.code_emb = None
        self.out_dim = dim * (1 + use_tags + use_levels + (self.code_emb is not None)) + vector_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # Histories repeat items heavily: represent each distinct id of the batch once, then gather.
        unique, inverse = torch.unique(ids.long(), return_inverse=True)
        rep = self.represent(unique)
        # index_select's backward is a plain index_add, far cheaper on CPU than advanced indexing's
        return rep.index_select(0, inverse.flatten()).view(*ids.shape, rep.shape[-1])

    def represent(self, ids: torch.Tensor) -> torch.Tensor:
        """Representation of a 1-d tensor of ids."""
        id_vec = self.id_emb(ids)
        nonpad = (ids != 0).unsqueeze(-1).to(id_vec.dtype)
        if self.training and self.id_dropout > 0:
            keep = torch.rand(ids.shape[0], 1, device=ids.device) >= self.id_dropout
            id_vec = id_vec * keep.to(id_vec.dtype)
        parts = [id_vec]
        if self.tag_emb is not None:
            tags = self.features.tags[ids]  # (n, 5)
            tag_mask = (tags != 0).unsqueeze(-1).to(id_vec.dtype)
            parts.append((self.tag_emb(tags) * tag_mask).sum(-2) / tag_mask.sum(-2).clamp(min=1))
        if self.vec_proj is not None:
            parts.append(self.vec_proj(self.features.vectors(ids)) * nonpad)
        if self.use_levels:
            likes = self.features.likes[ids]
            views = self.features.views[ids] + self.n_levels
            parts.append((self.level_emb(likes) + self.level_emb(views)) * nonpad)
        if self.code_emb is not None:
            parts.append(self.code_emb(self.features.codes[ids] + self.code_offsets).sum(-2) * nonpad)
        return torch.cat(parts, dim=-1)


def encode_batch_items(items: ItemFeatureEmbedding, target: torch.Tensor, item_seq: torch.Tensor):
    """Encode every distinct item of the batch (targets and non-padded history positions) once.

    Returns (target vectors (B, D), distinct-item vectors (U, D), per valid history position: its
    index into the distinct items and its batch row).
    """
    row, hist_ids = pack_history(item_seq)
    ids = torch.cat([target.long(), hist_ids.long()])
    uniq, inverse = torch.unique(ids, return_inverse=True)
    reps = items.represent(uniq)  # already distinct: skip the layer's own dedup
    n = target.shape[0]
    return reps.index_select(0, inverse[:n]), reps, inverse[n:], row


class RowInputsModel(Model):
    """Base of the models whose DNN input joins item parts with the row's likes/views level embeddings
    (one table: likes then views levels) and, optionally, the user id embedding."""

    def init_row_inputs(self, spec, dim: int, use_user_id: bool, items_first: bool = False,
                        zero_level_is_padding: bool = False) -> int:
        """Create the level (and user) embeddings; returns the width they add to the DNN input.

        The input is [levels, item parts, user] (din, dcn) or, with ``items_first``, [item parts, levels,
        user] with the user table drawn before the level table: attention_dnn's layout. The column order
        and the order of the initial draws are part of what a seed reproduces, so each model keeps its own.
        """
        self.items_first = items_first
        # FuxiCTR gives a categorical feature padding_idx 0: a row's level 0 embeds as zeros, never trained
        self.zero_level_is_padding = zero_level_is_padding
        if items_first:
            self.user_emb = nn.Embedding(spec.n_users, dim) if use_user_id else None
        self.level_emb = nn.Embedding(spec.n_levels * 2, dim)
        if not items_first:
            self.user_emb = nn.Embedding(spec.n_users, dim) if use_user_id else None
        self.n_levels = spec.n_levels
        return dim * (3 if use_user_id else 2)

    def row_inputs(self, batch: dict[str, torch.Tensor], *item_parts: torch.Tensor) -> torch.Tensor:
        likes, views = batch["likes_level"].long(), batch["views_level"].long()
        levels = [self.level_emb(likes), self.level_emb(views + self.n_levels)]
        if getattr(self, "zero_level_is_padding", False):
            levels = [e * (lv != 0).unsqueeze(-1).to(e.dtype) for e, lv in zip(levels, (likes, views))]
        parts = [*item_parts, *levels] if self.items_first else [*levels, *item_parts]
        if self.user_emb is not None:
            parts.append(self.user_emb(batch["user_id"].long()))
        return torch.cat(parts, dim=-1)


def baseline_init(module: nn.Module) -> None:
    """FuxiCTR's initialisation, which the published baseline used: embeddings N(0, 1e-4) with the
    padding row kept zero, linear weights Xavier-normal, biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=1e-4)
            if m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()


class Dice(nn.Module):
    """DIN's data-adaptive activation: ``x * (alpha + (1 - alpha) * sigmoid(bn(x)))``.

    The same function as ``p*x + alpha*(1-p)*x`` with one product fewer; the batch statistics are
    those of the rows it sees (DIN's attention passes only non-padded history positions).
    """

    def __init__(self, dim: int, eps: float = 1e-9, momentum: float = 0.01):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim, affine=False, eps=eps, momentum=momentum)
        self.alpha = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(self.bn(x))
        return x * torch.lerp(self.alpha.to(p.dtype), torch.ones_like(self.alpha, dtype=p.dtype), p)


class FastDropout(nn.Module):
    """Inverted dropout whose CPU mask costs one 64-bit random draw per 4 elements.

    On CPU ``bernoulli_`` draws one random number per element and dominates DIN's attention step;
    here four 16-bit lanes of each random int64 are compared with ``p * 2**16``, which keeps p to
    within 2**-16. CUDA tensors use the regular dropout.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        if x.is_cuda or x.numel() % 4:
            return nn.functional.dropout(x, self.p, True)
        bits = torch.randint(-2**63, 2**63 - 1, (x.numel() // 4,), dtype=torch.int64, device=x.device)
        keep = bits.view(torch.int16).view(x.shape) >= int(round(self.p * 65536)) - 32768
        return x * keep * (1.0 / (1.0 - self.p))


def activation(name: str, dim: int) -> nn.Module:
    if name == "dice":
        return Dice(dim)
    if name == "relu":
        return nn.ReLU()
    if name == "prelu":
        return nn.PReLU(dim)
    if name == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"unknown activation {name!r}; use dice, relu, prelu or sigmoid")


class TargetAttention(nn.Module):
    """DIN's local activation unit over the non-padded history positions only.

    The score of history item k for target q is ``MLP([q, k, q-k, q*k])``. The first layer is linear,
    so ``W [q, k, q-k, q*k] = (Wq + Wd) q + (Wk - Wd) k + Wp (q*k)``: the q-part is computed once per
    row, the k-part once per distinct item in the batch, and only the q*k part per position — the
    same function as the concatenated form at a quarter of its first-layer cost. Padded positions
    (id 0) are never computed: the batch is packed into its valid (row, position) pairs.
    Without softmax (the baseline's choice) the pooled interest is ``sum_l score_l * k_l``.
    """

    def __init__(self, dim: int, hidden: list[int], activation_name: str = "dice", dropout: float = 0.0,
                 use_softmax: bool = False, padding_in_stats: bool = False):
        super().__init__()
        if not hidden:
            raise ValueError("attention_hidden needs at least one layer")
        h0 = hidden[0]
        self.dim = dim
        self.use_softmax = use_softmax
        self.padding_in_stats = padding_in_stats
        # one Linear over [q, k, q-k, q*k] so that parameter shapes and init match the usual form
        self.first = nn.Linear(4 * dim, h0)
        layers: list[nn.Module] = [activation(activation_name, h0)]
        if dropout > 0:
            layers.append(FastDropout(dropout))
        prev = h0
        for h in hidden[1:]:
            layers += [nn.Linear(prev, h), activation(activation_name, h)]
            if dropout > 0:
                layers.append(FastDropout(dropout))
            prev = h
        layers.append(nn.Linear(prev, 1))
        self.rest = nn.Sequential(*layers)

    def split_weights(self):
        wq, wk, wd, wp = self.first.weight.split(self.dim, dim=1)
        return wq + wd, wk - wd, wp

    def forward(self, q: torch.Tensor, keys: torch.Tensor, key_index: torch.Tensor, row: torch.Tensor,
                history_len: int = 0) -> torch.Tensor:
        """q (B, D) targets; keys (U, D) distinct history items; for each valid position p:
        ``key_index[p]`` its row in ``keys`` and ``row[p]`` its batch row. Returns (B, D).

        ``padding_in_stats`` (FuxiCTR's DIN_Attention, which runs the MLP over all ``history_len``
        positions and masks the scores afterwards): in training the padded positions (key 0, so their
        first-layer output is the row's q-part) also pass through the MLP, so that the batch statistics
        of its Dice/batch-norm layers (and so their running statistics) include them; their scores
        are dropped. In evaluation they change nothing and are not computed."""
        w_q, w_k, w_p = self.split_weights()
        q_part = nn.functional.linear(q, w_q, self.first.bias)  # (B, H) once per row
        k_part = nn.functional.linear(keys, w_k)  # (U, H) once per distinct item
        k = keys.index_select(0, key_index)  # (N, D)
        qk = q.index_select(0, row) * k
        h = torch.addmm(q_part.index_select(0, row) + k_part.index_select(0, key_index), qk, w_p.t())
        if self.padding_in_stats and self.training and history_len:
            n_pad = history_len - torch.bincount(row, minlength=q.shape[0])
            pad_rows = torch.repeat_interleave(torch.arange(q.shape[0], device=q.device), n_pad)
            score = self.rest(torch.cat([h, q_part.index_select(0, pad_rows)]))[: h.shape[0]].squeeze(-1)
        else:
            score = self.rest(h).squeeze(-1)  # (N,)
        if self.use_softmax:
            score = segment_softmax(score, row, q.shape[0])
        return torch.zeros_like(q).index_add_(0, row, score.unsqueeze(-1) * k)


def segment_softmax(score: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of ``score`` (N,) or (N, H) over the entries of each segment (rows of the packed
    history), separately per trailing index (attention head)."""
    shape = (n_segments, *score.shape[1:])
    index = segment.view(-1, *([1] * (score.dim() - 1))).expand_as(score)
    peak = torch.full(shape, float("-inf"), dtype=score.dtype, device=score.device)
    peak = peak.scatter_reduce(0, index, score.detach(), reduce="amax", include_self=True)
    e = torch.exp(score - peak.index_select(0, segment))
    total = torch.zeros(shape, dtype=score.dtype, device=score.device).index_add_(0, segment, e)
    return e / total.index_select(0, segment)


def packed_softmax_attention(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, key_index: torch.Tensor,
                             row: torch.Tensor, heads: int, dropout: float = 0.0, training: bool = False) -> torch.Tensor:
    """Multi-head scaled dot-product attention of one query per row over that row's history.

    q (B, A); keys, values (U, A), one per distinct history item; for each valid (non-padded)
    position: ``key_index`` its row in keys/values and ``row`` its batch row. Dropout acts on the
    attention weights (as in nn.MultiheadAttention). A row without history gets zeros. Returns (B, A).
    """
    b, width = q.shape
    dh = width // heads
    k = keys.index_select(0, key_index).view(-1, heads, dh)
    score = (q.index_select(0, row).view(-1, heads, dh) * k).sum(-1) * dh ** -0.5  # (N, H)
    weight = F.dropout(segment_softmax(score, row, b), dropout, training)
    v = values.index_select(0, key_index).view(-1, heads, dh)
    return q.new_zeros(b, heads, dh).index_add_(0, row, weight.unsqueeze(-1) * v).view(b, width)


def pack_history(item_seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, item id) of every non-padded history position, row-major."""
    row, pos = (item_seq != 0).nonzero(as_tuple=True)
    return row, item_seq[row, pos]


class CrossNet(nn.Module):
    """DCNv2 cross layers: ``x_{l+1} = x0 * (W x_l + b) + x_l``; with ``rank`` > 0, ``W = U V``."""

    def __init__(self, dim: int, n_layers: int, rank: int = 0):
        super().__init__()
        if rank > 0:
            self.layers = nn.ModuleList(
                nn.Sequential(nn.Linear(dim, rank, bias=False), nn.Linear(rank, dim)) for _ in range(n_layers))
        else:
            self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n_layers))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for layer in self.layers:
            x = x0 * layer(x) + x
        return x
