"""What a run's valid AUC would be if a synthetic world's next clicks came from the mechanisms in other
proportions: the run's saved valid predictions, each valid user weighted by its mechanism class
(`mmbench data mechanisms`) so that the classes take the shares asked for. Cross-class pairs count as
in a real mix, so this is the AUC of the same predictions on a world with that mix, as long as the
model would have learnt each class as well there (an assumption: a bound on what a mix alone can do,
not a prediction for a new world).

    python benchmarks/mechanism_mix.py --dataset microlens_1m_synth-w2-full-s0 \
        --leaderboard-dir leaderboards --config 13539962f501 \
        --mix series=0.2,coclick=0,niche=0.75,unlinked=0.05
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mmbench.report.mechanisms import CLASSES, classify
from sklearn.metrics import roc_auc_score

from mmbench.data import mmbench_home


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name not in CLASSES:
            raise SystemExit(f"--mix: unknown class {name!r}; the classes are {', '.join(CLASSES)}")
        mix[name] = float(value)
    if sum(mix.values()) <= 0:
        raise SystemExit("--mix: the shares must add up to more than 0")
    return mix


def weighted_auc(labels: np.ndarray, scores: np.ndarray, classes: dict[str, np.ndarray],
                 mix: dict[str, float]) -> float:
    weights = np.zeros(len(labels))
    for name, mask in classes.items():
        share = mix.get(name, 0.0)
        if share > 0:
            if not mask.any():
                raise SystemExit(f"--mix: class {name!r} has no valid users to weight")
            weights[mask] = share / mask.mean()
    return float(roc_auc_score(labels, scores, sample_weight=weights))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, help="a synthetic dataset id, e.g. microlens_1m_synth-w2-full-s0")
    p.add_argument("--leaderboard-dir", type=Path, required=True, help="the board folder holding the run's preds/")
    p.add_argument("--config", required=True, help="the run's config hash (its valid predictions' file name)")
    p.add_argument("--root", type=Path, help="the data root (default: the dataset's generated root)")
    p.add_argument("--mix", action="append", default=[], help="NAME=SHARE,... (repeatable)")
    a = p.parse_args()
    mixes = [(text, parse_mix(text)) for text in a.mix]
    root = a.root or mmbench_home() / "data" / a.dataset
    labels, classes = classify(root)
    scores = np.load(a.leaderboard_dir / a.dataset / "preds" / f"{a.config}.npy")
    if len(scores) != len(labels):
        raise SystemExit(f"{a.config}.npy has {len(scores)} predictions; {root} has {len(labels)} valid rows")
    observed = {name: float(mask.mean()) for name, mask in classes.items()}
    print("class shares of the valid users: " + ", ".join(f"{k} {v:.3f}" for k, v in observed.items()))
    print(f"AUC as measured: {roc_auc_score(labels, scores):.4f}")
    for name, mask in classes.items():
        print(f"  {name}: {roc_auc_score(labels[mask], scores[mask]):.4f}")
    for text, mix in mixes:
        print(f"AUC at {text}: {weighted_auc(labels, scores, classes, mix):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
