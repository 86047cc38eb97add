"""Training FLOPs per sample of ``transformer_dcn``, for ``mmbench bench train``'s floor."""
from __future__ import annotations

import numpy as np


def transformer_dcn_flops(p: dict, n_levels_rows: int = 2, positions: float = 64.0) -> dict[str, float]:
    """Training FLOPs per sample of ``transformer_dcn`` with params ``p`` (a dict of its Params):
    forward products counted as 2 per multiply-add, backward as twice the forward.

    ``positions``: Transformer positions computed per row (the kept ones under the mask).
    """
    e = p["embedding_dim"]
    item = e * (3 if p["item_levels"] else 2) + p["vector_dim"]
    token = 2 * item
    rows = e * (n_levels_rows + int(p["use_user_id"]))
    width = rows + item + (p["first_k"] + int(p["max_pool"])) * token
    hidden = p["dnn_hidden"]
    dnn = sum(a * b for a, b in zip([width] + hidden[:-1], hidden))
    head_dims = [width + hidden[-1]] + p["mlp_hidden"] + [1]
    head = sum(a * b for a, b in zip(head_dims[:-1], head_dims[1:]))
    per_position = 4 * token * token + 2 * token * p["dim_feedforward"] + 2 * positions * token
    forward = {
        "cross": p["cross_layers"] * width * width,
        "dnn + mlp": dnn + head,
        "transformer": p["transformer_layers"] * positions * per_position + token * token * int(p["max_pool"]),
    }
    out = {k: 3 * 2 * v for k, v in forward.items()}
    out["total"] = sum(out.values())
    out["gemm_width"] = width  # the DCN width: batch x width x width dominates
    return out


def mean_kept_positions(item_seq: np.ndarray, mask: str) -> float:
    """Transformer positions per row under ``mask`` (see model_zoo/transformer_dcn): the real items,
    or (published) the padding plus the last position of a full row."""
    real = item_seq != 0
    if mask == "correct":
        return float(real.sum(1).mean())
    return float((~real).sum(1).mean() + real.all(1).mean())
