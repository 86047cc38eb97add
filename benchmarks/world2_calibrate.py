"""How world 2's item long tail was set: the share of items ever a target in an 80 % sample of train
rows, for several values of ``pop_spread`` (the sd of latent log exposure), against the real 84.8 %
(77,741 of 91,717 items; docs/synthetic.md).

    python benchmarks/world2_calibrate.py [--scale full] [--pop-spread 1.6 2.0 2.4]

Runs the generator's simulation only (items, click sequences, row groups; nothing written).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mmbench_plugins.datasets.synth import world2 as w2
from mmbench_plugins.datasets.synth.behaviour import NextClick, Strengths, with_strengths
from mmbench_plugins.datasets.synth.oracle import Negatives

REAL_SHARE = 77_741 / 91_717


def coverage(scale: str, seed: int, **changes) -> tuple[float, float]:
    """(share of items ever a target in an 80 % train row sample, share in all train rows)."""
    sc, s = w2.SCALES[scale], with_strengths(**changes)
    rngs = [np.random.default_rng([w2.WORLD, seed, k]) for k in range(8)]
    _, world = w2.make_items(sc, s, rngs[0])
    users = w2.make_users(sc, NextClick(world, s), rngs[1])
    clicks = np.bincount(users.seq_flat, minlength=sc.n_items + 1)
    groups = w2.make_groups(users, 0, Negatives(clicks, s.negative_power, excluded=world.fresh), rngs[2])
    targets = groups.candidates.reshape(-1)
    sample = targets[np.random.default_rng(0).random(len(targets)) < 0.8]
    return len(np.unique(sample)) / sc.n_items, len(np.unique(targets)) / sc.n_items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="full", choices=list(w2.SCALES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pop-spread", type=float, nargs="+", default=[Strengths().pop_spread])
    args = ap.parse_args()
    print(f"real: {REAL_SHARE:.1%} of items ever a target in an 80 % sample of train rows")
    for spread in args.pop_spread:
        start = time.perf_counter()
        sample, full = coverage(args.scale, args.seed, pop_spread=spread)
        print(f"pop_spread {spread:.2f}: {sample:.1%} in an 80 % sample ({full:.1%} in all train rows)  "
              f"[{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
