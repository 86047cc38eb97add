"""AUC, logloss and user-grouped AUC, exact and O(n log n)."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def logloss(labels: np.ndarray, probs: np.ndarray, eps: float = 1e-7) -> float:
    p = np.clip(np.asarray(probs, dtype=np.float64), eps, 1 - eps)
    y = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def gauc(users: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC per user, averaged with weights = the user's row count, over users with both classes."""
    users = np.asarray(users)
    labels = np.asarray(labels).astype(np.int64)
    _, user_code = np.unique(users, return_inverse=True)
    score_rank = rankdata(scores, method="dense").astype(np.int64)
    # one sort key per (user, score) so that a single global ranking gives within-user ranks,
    # ties averaged, without a Python loop over users
    key = user_code.astype(np.int64) * (score_rank.max() + 1) + score_rank
    ranks = rankdata(key, method="average")
    n_users = int(user_code.max()) + 1
    counts = np.bincount(user_code, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = ranks - starts[user_code]
    n_pos = np.bincount(user_code, weights=labels, minlength=n_users)
    n_neg = counts - n_pos
    pos_rank_sum = np.bincount(user_code, weights=within * labels, minlength=n_users)
    valid = (n_pos > 0) & (n_neg > 0)
    if not valid.any():
        return float("nan")
    per_user = (pos_rank_sum[valid] - n_pos[valid] * (n_pos[valid] + 1) / 2) / (n_pos[valid] * n_neg[valid])
    return float(np.average(per_user, weights=counts[valid]))


def evaluate(labels: np.ndarray, probs: np.ndarray, users: np.ndarray | None = None) -> dict[str, float]:
    out = {"auc": auc(labels, probs), "logloss": logloss(labels, probs)}
    if users is not None:
        out["gauc"] = gauc(users, labels, probs)
    return out
