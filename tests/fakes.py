"""In-memory fake plugins for tests: registered with ``pm.register``, nothing installed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import mmbench
from mmbench.contract.components import Dataset, Encoder, FixedReducer, Reduced
from mmbench.data.types import SEQ_LEN, ItemTable, MMCTRData, Split


def make_fake_data(n_train=3000, n_valid=600, n_items=200, n_users=500, n_topics=5, seed=0) -> MMCTRData:
    """A tiny dataset with a planted signal: users click items of the topic their history shows."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, n_topics, n_items)
    topic[0] = -1
    user_topic = rng.integers(0, n_topics, n_users)
    by_topic = [np.flatnonzero(topic == t) for t in range(n_topics)]

    def split(name, n):
        users = rng.integers(1, n_users, n)
        lengths = rng.integers(0, SEQ_LEN + 1, n)
        seq = np.zeros((n, SEQ_LEN), dtype=np.int32)
        for t in range(n_topics):  # histories drawn from the user's topic, left-padded
            rows = np.flatnonzero(user_topic[users] == t)
            seq[rows] = rng.choice(by_topic[t], (len(rows), SEQ_LEN))
        seq[np.arange(SEQ_LEN)[None, :] < (SEQ_LEN - lengths)[:, None]] = 0
        item = rng.integers(1, n_items, n).astype(np.int32)
        match = topic[item] == user_topic[users]
        label = (rng.random(n) < np.where(match, 0.7, 0.1)).astype(np.float32)
        levels = rng.integers(0, 11, n).astype(np.int8)
        return Split(name, users.astype(np.int32), seq, item, levels, levels.copy(), label)

    tags = np.zeros((n_items, 5), dtype=np.int32)
    tags[1:, -1] = topic[1:] + 1
    titles = [""] + [f"item about topic {t}" for t in topic[1:]]
    items = ItemTable(n_items, tags, rng.integers(0, 11, n_items).astype(np.int8),
                      rng.integers(0, 11, n_items).astype(np.int8), titles, None)
    vecs = np.eye(n_topics, dtype=np.float32)[np.maximum(topic, 0)] + 0.1 * rng.standard_normal((n_items, n_topics)).astype(np.float32)
    vecs[0] = 0
    items.load_shipped = lambda file, column: vecs
    return MMCTRData("fake", Path("."), split("train", n_train), split("valid", n_valid), None, items,
                     n_users=n_users, n_tags=n_topics + 1)


@dataclass
class FakeDatasetParams:
    seed: int = 0


class FakeDataset(Dataset):
    Params = FakeDatasetParams

    def load(self, ctx):
        return make_fake_data(seed=self.params.seed)


@dataclass
class ShippedParams:
    pass


class ShippedEncoder(Encoder):
    """Returns the planted topic vectors (what a perfect content encoder would see)."""

    Params = ShippedParams

    def encode(self, items, ctx):
        return items.load_shipped("", "")


class RandomEncoder(Encoder):
    def encode(self, items, ctx):
        return np.random.default_rng(0).standard_normal((items.n_items, 8)).astype(np.float32)


class TopicCodesReducer(FixedReducer):
    """Hands out codes only, no vectors: level 0 is the strongest dimension of the item's vector (the
    planted topic of the fake data) + 1, level 1 its sign; 0 is left for the padding item."""

    def apply(self, vecs):
        top = np.abs(vecs).argmax(1)
        sign = (vecs[np.arange(len(vecs)), top] > 0).astype(np.int64)
        codes = np.stack([top + 1, sign], axis=1)
        return Reduced(codes=codes, code_vocab=(vecs.shape[1] + 1, 2))


class VectorsAndCodesReducer(TopicCodesReducer):
    """The vectors unchanged, and the codes beside them."""

    def apply(self, vecs):
        codes = super().apply(vecs)
        return Reduced(vecs, codes.codes, codes.code_vocab)


class FakePlugin:
    @mmbench.hookimpl
    def register_datasets(self, register):
        register("fake", FakeDataset)

    @mmbench.hookimpl
    def register_encoders(self, register):
        register("shipped_fake", ShippedEncoder)
        register("random_fake", RandomEncoder)

    @mmbench.hookimpl
    def register_reducers(self, register):
        register("topic_codes", TopicCodesReducer)
        register("vectors_and_codes", VectorsAndCodesReducer)


def registry_with_fakes(**plugins):
    """A registry of the in-memory fakes, the built-in none/pca reducers and the given plugin modules
    (name → module), without entry points."""
    import mmbench_plugins.reducers.basic as reducers

    from mmbench.contract.registry import build_registry, new_plugin_manager

    pm = new_plugin_manager()
    pm.register(FakePlugin(), name="fake")
    pm.register(reducers, name="basic_reducers")
    for name, module in plugins.items():
        pm.register(module, name=name)
    return build_registry(pm, entry_points=False)
