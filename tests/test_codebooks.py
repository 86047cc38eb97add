"""k-means codebooks for the rq / vq reducers."""
import numpy as np
import pytest

from mmbench_plugins.reducers.codebooks import decode, encode, fit_residual, item_codes, kmeans, split_groups


def vectors(n=600, d=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def test_kmeans_finds_separated_blobs():
    rng = np.random.default_rng(1)
    centres = np.array([[10, 0], [0, 10], [-10, -10]], np.float32)
    truth = rng.integers(0, 3, 300)
    x = centres[truth] + rng.standard_normal((300, 2)).astype(np.float32)
    found, assign = kmeans(x, 3, seed=0)
    # one found centre per blob, each point with its blob
    mapping = {t: set(assign[truth == t]) for t in range(3)}
    assert all(len(v) == 1 for v in mapping.values()) and len(set.union(*mapping.values())) == 3
    assert np.abs(np.sort(found[:, 0]) - np.sort(centres[:, 0])).max() < 0.5


def test_residual_error_falls_with_each_level():
    x = vectors()
    books = fit_residual(x, levels=4, k=8, seed=0)
    errors = [float(((x - decode(encode(x, books[:l]), books[:l])) ** 2).sum()) for l in range(1, 5)]
    assert float((x ** 2).sum()) > errors[0] and all(a > b for a, b in zip(errors, errors[1:])), errors


def test_codes_are_deterministic_by_seed():
    x = vectors()
    a = item_codes(x, fit_residual(x, 2, 8, seed=3))
    b = item_codes(x, fit_residual(x, 2, 8, seed=3))
    c = item_codes(x, fit_residual(x, 2, 8, seed=4))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_padding_item_gets_code_zero_and_items_one_to_k():
    x = vectors()
    x[0] = 0
    codes = item_codes(x, fit_residual(x[1:], 3, 8, seed=0))
    assert codes.shape == (600, 3) and (codes[0] == 0).all()
    assert codes[1:].min() >= 1 and codes[1:].max() <= 8
    assert not decode(codes[:1], fit_residual(x[1:], 3, 8, seed=0)).any()  # code 0 reconstructs to zero


def test_groups_share_one_codebook():
    x = vectors(d=12)
    parts = split_groups(x, 3)
    assert parts.shape == (1800, 4)
    np.testing.assert_array_equal(parts[3:6].reshape(-1), x[1])
    with pytest.raises(ValueError, match="not divisible by groups=5"):
        split_groups(x, 5)
