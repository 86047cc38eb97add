"""DeLong's AUC (co)variance: confidence intervals and paired tests on the same valid rows.

Fast algorithm of Sun & Xu (2014): mid-ranks give every predictor's structural components in
O(n log n), and one covariance over them gives the full covariance matrix of all AUCs measured on
the same rows. From it: the CI of a seed-mean AUC (a weighted sum of AUCs) and the paired test of the
difference of two such means — both account for the runs sharing the valid rows.
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975); scipy is imported where it is used (seconds)


def delong(labels: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUC of each row of ``preds`` (k, n) against binary ``labels`` (n,), and their (k, k) covariance."""
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    preds = np.atleast_2d(np.asarray(preds, dtype=np.float64))
    pos, neg = preds[:, labels], preds[:, ~labels]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise ValueError("DeLong needs at least two positive and two negative rows")
    tx = rankdata(pos, axis=1)
    ty = rankdata(neg, axis=1)
    tz = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v10 = (tz[:, :m] - tx) / n  # per positive: share of negatives it outranks (ties count half)
    v01 = 1.0 - (tz[:, m:] - ty) / m  # per negative: share of positives that outrank it
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def weighted_ci(aucs: np.ndarray, cov: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """(estimate, low, high): 95 % CI of ``weights @ aucs`` (e.g. the mean over seeds)."""
    est = float(weights @ aucs)
    half = Z95 * math.sqrt(max(float(weights @ cov @ weights), 0.0))
    return est, max(0.0, est - half), min(1.0, est + half)


def paired_test(aucs: np.ndarray, cov: np.ndarray, contrast: np.ndarray) -> tuple[float, float]:
    """(difference, two-sided p) of ``contrast @ aucs`` = 0, e.g. mean of A's seeds minus mean of B's."""
    from scipy.stats import norm

    diff = float(contrast @ aucs)
    var = float(contrast @ cov @ contrast)
    if var <= 1e-18:
        return diff, 1.0 if abs(diff) < 1e-12 else 0.0
    return diff, float(2 * norm.sf(abs(diff) / math.sqrt(var)))
