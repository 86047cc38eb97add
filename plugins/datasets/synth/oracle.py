"""World 2's negatives and its exact oracle.

A row group is made of the user's next click (the positive, probability ``P(c)`` from
:class:`~mmbench_plugins.datasets.synth.behaviour.NextClick`, which already excludes the history) and 3
negatives, each drawn independently from ``q`` — items by ``(clicks + 1) ** power`` — restricted to
items that are neither in the history nor the positive (and, for early users, not fresh). Given only
its history and its candidate ``c``, a row is the positive with probability

    P(c) / (P(c) + 3 Q(c)),   Q(c) = q(c) * sum_{j != c, j allowed} P(j) / (D - q(j))

where ``D`` is the ``q``-mass of the allowed items and ``Q(c)`` the chance that a given negative
slot holds ``c``. The sum over all items is exact without touching every item: for the taste and
popular mechanisms it is a power series in ``q(j) / D`` whose coefficients (per-interest moments of
``q`` weighted by attractiveness) are computed once; terms are added until they fall below 1e-18
relative to the first.
"""
from __future__ import annotations

import numpy as np

from .behaviour import NextClick, UserState, recency_weights

SERIES_TOL = 1e-18


class Negatives:
    """``q`` over item ids (index 0 = padding, weight 0), and its sampler."""

    def __init__(self, clicks: np.ndarray, power: float, excluded: np.ndarray | None = None):
        weight = (clicks.astype(np.float64) + 1.0) ** power
        weight[0] = 0.0
        if excluded is not None:
            weight[excluded] = 0.0
        self.q = weight / weight.sum()
        self.cum = np.cumsum(self.q)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(n) * self.cum[-1]
        return np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.cum) - 1)


class Oracle:
    """Exact ``P(row is the positive | history, candidate)`` for late users (nothing fresh excluded)."""

    def __init__(self, model: NextClick, neg: Negatives):
        self.model, self.neg = model, neg
        w = model.world
        q = neg.q[1:]
        self.q_max = float(q.max())
        # moments M[z, m] = sum_{j in z} g_j / G_z * q_j^m over the groups z: every interest, every
        # co-click community, and one group of all items (by g / G)
        ni, nc = w.n_interests, w.n_communities
        self.n_groups = ni + nc + 1
        share = np.concatenate([w.interests.share_id[1:], w.communities.share_id[1:], w.weight / w.total])
        group = np.concatenate([w.interest, ni + w.community, np.full(len(q), ni + nc)])
        self._share, self._group, self._q = share, group, np.concatenate([q, q, q])

    def _moments(self, n_terms: int) -> np.ndarray:
        out = np.empty((self.n_groups, n_terms))
        power = np.ones_like(self._q)
        for m in range(n_terms):
            out[:, m] = np.bincount(self._group, weights=self._share * power, minlength=self.n_groups)
            power = power * self._q
        return out

    def probabilities(self, state: UserState, history: np.ndarray, hist_len: np.ndarray,
                      candidates: np.ndarray) -> np.ndarray:
        """(n, k) oracle probabilities of each user's ``k`` candidates (none of them in its history)."""
        model, q = self.model, self.neg.q
        n, k = candidates.shape
        allowed = 1.0 - model.forbidden_mass(state, history, hist_len)
        in_hist = np.arange(history.shape[1])[None, :] < hist_len[:, None]
        d = 1.0 - np.where(in_hist, q[history], 0.0).sum(axis=1)
        user = np.repeat(np.arange(n), k)
        p = model.mix_prob(state, candidates.reshape(-1), user).reshape(n, k) / allowed[:, None]

        # S = sum over allowed j of P(j) / (D - q_j): every item, minus the history, over `allowed`
        total = self._all_items_sum(state, d)
        hist_user = np.repeat(np.arange(n), hist_len)
        hist_items = history[in_hist]
        hist_p = model.mix_prob(state, hist_items, hist_user)
        total -= np.bincount(hist_user, weights=hist_p / (d[hist_user] - q[hist_items]), minlength=n)
        s = total / allowed
        neg_slot = q[candidates] * (s[:, None] - p / (d[:, None] - q[candidates]))
        return p / (p + 3.0 * neg_slot)

    def _all_items_sum(self, state: UserState, d: np.ndarray) -> np.ndarray:
        """sum over every item j of P_mix(j) / (D - q_j), per user."""
        model, w, q = self.model, self.model.world, self.neg.q
        ratio = self.q_max / float(d.min())
        if ratio >= 0.95:
            raise ValueError(f"negative distribution too concentrated for the series (q_max / D = {ratio:.3f})")
        n_terms = max(1, int(np.ceil(np.log(SERIES_TOL) / np.log(ratio)))) if ratio > 0 else 1
        moments = self._moments(n_terms)
        # per_group[i, z] = sum_{j in z} g_j / G_z / (D_i - q_j) = sum_m M[z, m] / D_i^(m + 1), by Horner
        x = (1.0 / d)[:, None]
        per_group = np.zeros((len(d), self.n_groups))
        for m in range(n_terms - 1, -1, -1):
            per_group = x * (per_group + moments[:, m][None, :])
        pi = model.component_weights(state)
        theta_sum = (state.slot_weight * np.take_along_axis(per_group, state.slots, axis=1)).sum(axis=1)
        succ = w.successor[state.recent[:, 0]]
        series = np.where(succ > 0, 1.0 / (d - q[succ]), 0.0)
        source = np.maximum(w.communities.id[state.recent], 0) + w.n_interests  # padding: weight 0 below
        coclick = (recency_weights(state.n_hist, model.s.recency_decay)
                   * np.take_along_axis(per_group, source, axis=1)).sum(axis=1)
        return pi[:, 0] * series + pi[:, 1] * coclick + pi[:, 2] * theta_sum + pi[:, 3] * per_group[:, -1]
