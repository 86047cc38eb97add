"""Hand-built data roots that follow the challenge's inferred row protocol, with known answers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mmbench.data import schema
from mmbench_plugins.datasets.synth.layout import write_item_seq, write_items, write_split

N_ITEMS = 40
HOT = 10  # items 1..10 are the only train candidates, each in >= 50 train rows


def _write_items(root: Path) -> None:
    rng = np.random.default_rng(0)
    tags = np.zeros((N_ITEMS, 5), np.int64)
    tags[:, -1] = 1 + np.arange(N_ITEMS) % 7
    levels = np.full(N_ITEMS, 5, np.int64)
    emb = {name: rng.standard_normal((N_ITEMS, dim)).astype(np.float32)
           for (_, name), dim in schema.SHIPPED_EMBEDDINGS.items()}
    write_items(root, tags, levels, levels.copy(), [f"Item {i}" for i in range(1, N_ITEMS + 1)], emb)


def build_root(root: Path, users: dict[str, int], extra_users: int = 0, seed: int = 0) -> dict:
    """A root that follows the inferred protocol: each user of a split has one group of 4 rows (the
    actual next click + 3 negatives) sharing the history = the user's whole item_seq.parquet sequence."""
    rng = np.random.default_rng(seed)
    n_users = sum(users.values()) + extra_users
    lengths = rng.integers(1, 90, n_users)  # some longer than 64: the rows show the last 64
    seq_start = np.concatenate([[0], np.cumsum(lengths)])
    seq_flat = rng.integers(HOT + 1, N_ITEMS + 1, seq_start[-1]).astype(np.int32)  # histories avoid 1..10
    order = rng.permutation(n_users)  # user ids are spread over the splits
    splits, start = {}, 0
    for name, n in users.items():
        u = np.repeat(order[start:start + n], 4)
        start += n
        if name == "train":  # 4 distinct hot items per user: each hot item is in ~120 train rows
            target = np.argsort(rng.random((n, HOT)), axis=1)[:, :4].reshape(-1) + 1
        else:
            target = rng.integers(1, N_ITEMS + 1, 4 * n)
        label = np.tile([1, 0, 0, 0], n)
        splits[name] = (u, seq_start[u + 1] - seq_start[u], target, label)
    _write_items(root)
    likes = np.full(N_ITEMS + 1, 5, np.int64)
    for name, (u, cutoff, target, label) in splits.items():
        write_split(root, name, u, cutoff, target, label, seq_start, seq_flat, likes, likes)
    write_item_seq(root, seq_start, seq_flat)
    return splits
