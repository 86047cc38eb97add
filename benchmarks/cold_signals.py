"""What separates a world-2 valid row's positive from its negatives on cold and warm candidates, signal
by signal, with no model: the world's latent item facts (topic share of the history, appeals, quality),
the row's levels, and the zero-shot cosine between the candidate and the mean of its history for the
item tags and for any item-vector table given (e.g. an encoder's cached vectors). Then how well each of
those tables names an item's topic: 3-fold accuracy of a linear probe (logistic regression).

    python benchmarks/cold_signals.py --root $MMBENCH_HOME/data/microlens_1m_synth-w2-small-s0 \\
        --vectors titles=$MMBENCH_HOME/cache/<key>/vectors.npy covers=...   # keys: `mmbench cache list`

Cold: the candidate is the target of at most --max-train-rows train rows (0 and 5 are printed).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from mmbench.run.metrics import auc
from mmbench.report.coldwarm import read_candidates


def history_cosine(table: np.ndarray, item_seq: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """cos(candidate row, mean of the history's rows) per valid row; padding (id 0) left out."""
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    total = np.zeros((len(item_seq), unit.shape[1]))
    for position in range(item_seq.shape[1]):  # one (rows, dim) slice at a time
        ids = item_seq[:, position]
        total += unit[ids] * (ids != 0)[:, None]
    mean = total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)
    return (unit[candidates] * mean).sum(1)


def tag_table(root: Path) -> np.ndarray:
    info = pq.read_table(root / "MicroLens_1M_x1" / "item_info.parquet", columns=["item_id", "item_tags"])
    tags = np.stack(info.column("item_tags").to_numpy(zero_copy_only=False))
    table = np.zeros((info.num_rows, int(tags.max()) + 1), dtype=np.float32)
    rows = np.repeat(info.column("item_id").to_numpy(), tags.shape[1])
    table[rows, tags.ravel()] = 1.0
    table[:, 0] = 0.0  # tag 0 is padding
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, required=True, help="a world-2 data root")
    ap.add_argument("--vectors", nargs="*", default=[], metavar="NAME=FILE.npy",
                    help="item-vector tables (n_items x d, row = item id) to score zero-shot")
    args = ap.parse_args()
    root = args.root
    valid = pq.read_table(root / "MicroLens_1M_x1" / "valid.parquet").to_pandas()
    items = pq.read_table(root / "synth_truth" / "items.parquet").to_pandas().set_index("item_id")
    cand = read_candidates(root)
    seq = np.stack(valid["item_seq"].to_numpy()).astype(np.int64)
    target = valid["item_id"].to_numpy().astype(np.int64)
    topic = np.zeros(int(max(items.index.max(), target.max())) + 1, dtype=np.int64) - 1
    topic[items.index.to_numpy()] = items["topic"].to_numpy()
    same = (topic[seq] == topic[target][:, None]) & (seq != 0)
    signals = {
        "topic share of the history (latent)": same.sum(1) / np.maximum((seq != 0).sum(1), 1),
        "quality (latent)": items.loc[target, "quality"].to_numpy(),
        "cover appeal (latent)": items.loc[target, "appeal_visual"].to_numpy(),
        "title appeal (latent)": items.loc[target, "appeal_text"].to_numpy(),
        "views_level (row)": valid["views_level"].to_numpy(),
    }
    tables = {"tags": tag_table(root)}
    for spec in args.vectors:
        name, _, path = spec.partition("=")
        tables[name] = np.load(path)
    for name, table in tables.items():
        signals[f"{name}: zero-shot cosine"] = history_cosine(table, seq, target)
    subsets = {"never in train": cand.train_rows == 0, "<= 5 train rows": cand.train_rows <= 5,
               "warm (> 5)": cand.train_rows > 5}
    y = cand.label
    print(f"{'signal':<40}" + "".join(f"{k + f' ({m.sum()})':>24}" for k, m in subsets.items()))
    for name, score in signals.items():
        print(f"{name:<40}" + "".join(f"{auc(y[m], score[m]):>24.3f}" for m in subsets.values()))
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    known = items.index.to_numpy()  # item ids with a topic (id 0 is padding)
    print("\ntopic of an item from its table (linear probe, 3-fold accuracy; chance 1/%d):" % (topic.max() + 1))
    for name, table in tables.items():
        score = cross_val_score(LogisticRegression(max_iter=2000), table[known], topic[known], cv=3).mean()
        print(f"  {name:<38}{score:.3f}")


if __name__ == "__main__":
    main()
