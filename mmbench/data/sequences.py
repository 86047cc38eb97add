"""Click sequences in the challenge's shape: each row's history is the user's last 64 clicks before
its cutoff, left-padded with 0 (``item_seq``). Shared by the marginals report and the generators."""
from __future__ import annotations

import numpy as np

from .types import SEQ_LEN


def history(seq_start: np.ndarray, seq_flat: np.ndarray, user: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    """(n, 64) int32 item ids of the last <= 64 clicks before ``cutoff`` in each user's sequence
    (user u's clicks are ``seq_flat[seq_start[u]:seq_start[u + 1]]``), left-padded with 0."""
    pos = cutoff[:, None] - SEQ_LEN + np.arange(SEQ_LEN)[None, :]
    idx = seq_start[user][:, None] + np.maximum(pos, 0)
    return np.where(pos >= 0, seq_flat[idx], 0).astype(np.int32)
