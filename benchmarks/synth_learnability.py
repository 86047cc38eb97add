"""Can a small target-attention model learn the synthetic click signal? Reports valid AUC and the
share of the oracle's lift over chance it reaches: (auc - 0.5) / (oracle - 0.5).

    python benchmarks/synth_learnability.py --root DIR [--epochs 3]

A self-contained check of the generator, not one of mmbench's models.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mmbench.data.reader import load_mmctr
from mmbench.run.metrics import auc


class TargetAttention(nn.Module):
    """DIN-like: item = id embedding + pooled tag embedding + projected shipped embedding; the target
    attends over the history (no softmax), then an MLP."""

    def __init__(self, n_items: int, tags: np.ndarray, emb: np.ndarray, n_tags: int, d: int = 16):
        super().__init__()
        self.item = nn.Embedding(n_items, d)
        self.tag = nn.EmbeddingBag(n_tags, d, mode="sum", padding_idx=0)
        self.register_buffer("tags", torch.as_tensor(tags, dtype=torch.long))
        self.register_buffer("emb", torch.as_tensor(emb))
        self.proj = nn.Linear(emb.shape[1], d)
        self.level = nn.Embedding(11, d)
        self.att = nn.Sequential(nn.Linear(3 * 3 * d, 32), nn.ReLU(), nn.Linear(32, 1))
        self.mlp = nn.Sequential(nn.Linear(3 * 3 * d + 2 * d, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, seq, target, likes, views):
        # every item's vector once per step (few thousand items), then gathers
        table = torch.cat([self.item.weight, self.tag(self.tags), self.proj(self.emb)], -1)
        table = table * (torch.arange(len(table)) > 0).unsqueeze(-1)  # padding row stays zero
        h, t = table[seq], table[target]
        tt = t[:, None, :].expand_as(h)
        w = self.att(torch.cat([h, tt, h * tt], -1)).squeeze(-1)
        w = w.masked_fill(seq == 0, 0.0)
        pooled = (w.unsqueeze(-1) * h).sum(1)
        x = torch.cat([pooled, t, pooled * t, self.level(likes.long()), self.level(views.long())], -1)
        return self.mlp(x).squeeze(-1)


def batches(split, size, shuffle, rng):
    order = rng.permutation(len(split)) if shuffle else np.arange(len(split))
    for start in range(0, len(split), size):
        rows = order[start : start + size]
        yield (torch.as_tensor(split.item_seq[rows], dtype=torch.long), torch.as_tensor(split.item_id[rows], dtype=torch.long),
               torch.as_tensor(split.likes_level[rows]), torch.as_tensor(split.views_level[rows]),
               None if split.label is None else torch.as_tensor(split.label[rows]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = load_mmctr(args.root, "check")
    emb = data.items.load_shipped("item_info.parquet", "item_emb_d128")
    model = TargetAttention(data.items.n_items, data.items.item_tags, emb, data.n_tags)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        for seq, target, likes, views, label in batches(data.train, 1024, True, rng):
            opt.zero_grad()
            loss_fn(model(seq, target, likes, views), label).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            scores = np.concatenate([model(s, t, lk, vw).numpy() for s, t, lk, vw, _ in batches(data.valid, 4096, False, rng)])
        valid_auc = auc(data.valid.label, scores)
        lift = (valid_auc - 0.5) / (data.oracle_auc - 0.5)
        print(f"epoch {epoch + 1}: valid AUC {valid_auc:.4f}  oracle {data.oracle_auc:.4f}  "
              f"lift share {lift:.1%}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
