"""Per-epoch comparison of two sides' seeds: mean ± sd, Δ of the means with a 95 % Welch t interval
(unequal variances; the seeds are not paired: the two sides draw different random streams from the
same seed, so nothing couples seed s of one side to seed s of the other), and the verdict."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SAME_WITHIN = 0.01  # |Δ| allowed for "same"


@dataclass
class Side:
    n: int
    mean: float
    sd: float  # sample sd (ddof 1); nan with one value


@dataclass
class EpochComparison:
    epoch: int
    a: Side
    b: Side
    delta: float
    low: float  # 95 % CI of delta; nan when a side has fewer than 2 values
    high: float
    verdict: str  # same | differs | n/a


def describe(values) -> Side:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return Side(0, math.nan, math.nan)
    return Side(len(v), float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan)


def welch_ci(a: Side, b: Side, level: float = 0.95) -> tuple[float, float]:
    delta = a.mean - b.mean
    if a.n < 2 or b.n < 2:
        return math.nan, math.nan
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    se = math.sqrt(va + vb)
    if se == 0.0:
        return delta, delta
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    from scipy.stats import t as student_t  # here, not at import: the CLI builds this module's parser
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    return delta - half, delta + half


def verdict(delta: float, low: float, high: float) -> str:
    if math.isnan(low):
        return "n/a"
    return "same" if low <= 0.0 <= high and abs(delta) <= SAME_WITHIN else "differs"


def compare(a_runs: list[list[float]], b_runs: list[list[float]]) -> list[EpochComparison]:
    """a_runs/b_runs: one per-epoch list per seed (early stopping makes them of unequal length); epoch k
    compares the seeds that reached it."""
    epochs = max([len(r) for r in a_runs + b_runs] or [0])
    out = []
    for k in range(epochs):
        a = describe([r[k] for r in a_runs if len(r) > k])
        b = describe([r[k] for r in b_runs if len(r) > k])
        if not a.n or not b.n:
            out.append(EpochComparison(k + 1, a, b, math.nan, math.nan, math.nan, "n/a"))
            continue
        low, high = welch_ci(a, b)
        delta = a.mean - b.mean
        out.append(EpochComparison(k + 1, a, b, delta, low, high, verdict(delta, low, high)))
    return out
