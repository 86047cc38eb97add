"""Item content shared by both synthetic worlds: tags, shipped-embedding projections, topic sampling."""
from __future__ import annotations

import numpy as np

from .titles import N_TOPICS
from mmbench.data.types import N_TAG_SLOTS


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-12)


def make_tags(topic: np.ndarray, n_tags: int, rng: np.random.Generator) -> np.ndarray:
    """1-5 distinct tags per item, most from its topic's block of the vocabulary, left-padded."""
    n = len(topic)
    n_topic_tags = max(1, int((n_tags - 1) * 0.8) // N_TOPICS)
    generic_start = 1 + n_topic_tags * N_TOPICS
    n_generic = max(1, n_tags - generic_start)
    # skewed draws inside a block: a few tags are frequent, most are rare
    topic_tag = 1 + topic[:, None] * n_topic_tags + (n_topic_tags * rng.random((n, N_TAG_SLOTS)) ** 2.5).astype(np.int64)
    generic_tag = generic_start + (n_generic * rng.random((n, N_TAG_SLOTS)) ** 2.5).astype(np.int64)
    tags = np.where(rng.random((n, N_TAG_SLOTS)) < 0.75, topic_tag, generic_tag)
    tags = np.minimum(tags, n_tags - 1)
    count = rng.choice(np.arange(1, N_TAG_SLOTS + 1), size=n, p=[0.15, 0.25, 0.25, 0.2, 0.15])
    tags[np.arange(N_TAG_SLOTS)[None, :] < (N_TAG_SLOTS - count)[:, None]] = 0
    tags.sort(axis=1)
    tags[:, 1:][tags[:, 1:] == tags[:, :-1]] = 0  # drop duplicates, then left-pad again
    tags.sort(axis=1)
    tags[-1, -1] = n_tags - 1  # the vocabulary size is then max tag + 1, as in the real data
    return tags


def one_hot(group: np.ndarray, n_groups: int) -> np.ndarray:
    """(N, n_groups) float32 one-hot rows: a latent group ready to project."""
    out = np.zeros((len(group), n_groups), np.float32)
    out[np.arange(len(group)), group] = 1.0
    return out


def topic_blocks(topic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot topic, one-hot topic group of 4): the latent content every embedding projects."""
    return one_hot(topic, N_TOPICS), one_hot(topic // 4, N_TOPICS // 4)


def column(x: np.ndarray) -> np.ndarray:
    """A latent scalar per item as a standardised float32 column, ready to project."""
    return zscore(x).astype(np.float32)[:, None]


def project(parts: list[np.ndarray], dim: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """A noisy random linear projection of the concatenated latent ``parts`` to ``dim`` dimensions."""
    latent = np.concatenate(parts, axis=1)
    w = rng.standard_normal((latent.shape[1], dim), dtype=np.float32) / np.float32(np.sqrt(dim))
    out = latent @ w
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(noise / np.sqrt(dim))
    return out


class TopicSampler:
    """Draws items of given topics (or any grouping of ``n_groups``) in proportion to ``weights``
    (vectorised inverse CDF)."""

    def __init__(self, topic: np.ndarray, weights: np.ndarray, n_groups: int = N_TOPICS):
        self.order = np.argsort(topic, kind="stable")
        self.cum = np.cumsum(weights[self.order])
        bounds = np.searchsorted(topic[self.order], np.arange(n_groups + 1))
        self.lo = np.where(bounds[:-1] > 0, self.cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
        self.hi = self.cum[np.maximum(bounds[1:] - 1, 0)]
        self.empty = bounds[1:] == bounds[:-1]
        self.last = np.maximum(bounds[1:] - 1, 0)
        self.global_cum = np.cumsum(weights)

    def by_topic(self, topics: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Item ids (1-based) of the given topics; a topic without items falls back to ``popular``."""
        u = self.lo[topics] + rng.random(len(topics)) * (self.hi[topics] - self.lo[topics])
        pos = np.minimum(np.searchsorted(self.cum, u, side="right"), self.last[topics])
        ids = self.order[pos] + 1
        empty = self.empty[topics]
        if empty.any():
            ids[empty] = self.popular(int(empty.sum()), rng)
        return ids

    def popular(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Item ids (1-based) drawn in proportion to ``weights`` over all items."""
        u = rng.random(n) * self.global_cum[-1]
        return np.minimum(np.searchsorted(self.global_cum, u, side="right"), len(self.global_cum) - 1) + 1
