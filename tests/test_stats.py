"""DeLong AUC covariance: fast algorithm vs the textbook O(m·n) definition; CI and paired test."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mmbench.report.stats import delong, paired_test, weighted_ci


def naive_delong(labels, preds):
    """Structural components straight from DeLong et al. (1988): psi(x, y) = [x > y] + 0.5 [x == y]."""
    labels = labels.astype(bool)
    k = preds.shape[0]
    v10, v01, aucs = [], [], []
    for p in preds:
        x, y = p[labels], p[~labels]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        v10.append(psi.mean(1))
        v01.append(psi.mean(0))
        aucs.append(psi.mean())
    m, n = labels.sum(), (~labels).sum()
    cov = np.cov(np.array(v10)).reshape(k, k) / m + np.cov(np.array(v01)).reshape(k, k) / n
    return np.array(aucs), cov


def test_fast_delong_equals_definition_with_ties():
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.3).astype(int)
    signal = labels + rng.standard_normal(300)
    preds = np.stack([signal, np.round(signal + rng.standard_normal(300), 1), rng.random(300)])  # one with ties
    aucs, cov = delong(labels, preds)
    ref_aucs, ref_cov = naive_delong(labels, preds)
    np.testing.assert_allclose(aucs, ref_aucs, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-12)
    assert aucs[0] == pytest.approx(roc_auc_score(labels, preds[0]))


def test_ci_covers_and_paired_test_separates():
    rng = np.random.default_rng(1)
    labels = (rng.random(4000) < 0.25).astype(int)
    good = labels * 1.0 + rng.standard_normal(4000)
    good2 = good + 0.05 * rng.standard_normal(4000)  # a second "seed" of the same model
    weak = labels * 0.3 + rng.standard_normal(4000)
    aucs, cov = delong(labels, np.stack([good, good2, weak]))
    est, lo, hi = weighted_ci(aucs, cov, np.array([0.5, 0.5, 0.0]))
    assert lo < est < hi and hi - lo < 0.04 and est == pytest.approx(aucs[:2].mean())
    diff, p = paired_test(aucs, cov, np.array([0.5, 0.5, -1.0]))
    assert diff > 0.15 and p < 1e-10
    diff, p = paired_test(aucs, cov, np.array([1.0, -1.0, 0.0]))  # two near-identical runs
    assert abs(diff) < 0.005 and p > 0.01
    assert paired_test(aucs, cov, np.array([1.0, -1.0, 0.0]) * 0)[1] == 1.0


def test_needs_both_classes():
    with pytest.raises(ValueError, match="positive and two negative"):
        delong(np.array([1, 0, 0, 0]), np.random.default_rng(0).random((1, 4)))
