"""Synthetic MicroLens-1M in the exact MMCTR layout, with a planted, learnable click signal.

The world: items have a topic (in their title, tags, cover and shipped embeddings), a hidden appeal
(in the cover's brightness/saturation and the image embeddings, never in the title), a quality
(behind ``likes_level``) and a power-law popularity (behind ``views_level``). Users like 1-3 topics;
their click history is drawn from preference x popularity. Each row's target is either drawn the same
way or from global popularity, and

    P(click) = sigmoid(A * share of the target's topic in the row's visible history
                       + B * quality + C * appeal + bias),  bias set so that ~25 % are positive.

Every term is observable (history, content, levels), so a good sequence model can approach the oracle
(the AUC of these true probabilities, written to ``oracle.json``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmbench.errors import DataError
from mmbench.run.metrics import auc
from mmbench.data import schema
from . import layout
from .content import TopicSampler, column, make_tags, project, topic_blocks, zscore
from .covers import CoverWriter
from .layout import ROW_CHUNK, TRUTH_DIR
from .titles import N_TOPICS, make_titles

GENERATOR_VERSION = "1"
POSITIVE_RATE = 0.25
# click model coefficients: topic match with history, quality, appeal
A_MATCH, B_QUALITY, C_APPEAL = 4.0, 0.6, 0.6
PREF_TARGET_SHARE = 0.5  # share of targets drawn from the user's preference (the rest: popularity)
EXPLORE = 0.1  # share of history clicks on a random topic
ACTIVE_USERS = 0.92  # share of users with train rows
SEEN_EVAL_USERS = 0.95  # share of valid/test rows whose user has train rows


@dataclass(frozen=True)
class Scale:
    n_items: int  # without the padding item 0
    n_users: int
    n_train: int
    n_valid: int
    n_test: int
    n_tags: int  # tag vocabulary including padding 0
    image_size: int = 64
    cover_workers: int = 0


SCALES = {
    "tiny": Scale(300, 1_500, 5_000, 1_000, 1_000, 120),
    "small": Scale(4_000, 30_000, 120_000, 5_000, 5_000, 800),
    "full": Scale(91_717, 1_000_000, 3_600_000, 10_000, 379_142, 11_740, cover_workers=2),
}


# ----------------------------------------------------------------------------------------------
# the latent world


@dataclass
class Items:
    topic: np.ndarray  # (N,) for items 1..N
    quality: np.ndarray
    appeal: np.ndarray
    log_pop: np.ndarray
    tags: np.ndarray  # (N, 5) left-padded
    likes_level: np.ndarray
    views_level: np.ndarray


def _level(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(5.0 + 2.0 * x + noise), 0, 10).astype(np.int64)


def make_items(sc: Scale, rng: np.random.Generator) -> Items:
    n = sc.n_items
    topic_sizes = rng.dirichlet(np.full(N_TOPICS, 5.0))
    topic = rng.choice(N_TOPICS, size=n, p=topic_sizes)
    log_pop = rng.normal(0.0, 1.9, n)  # ~85 % of items are ever a target, as in the real data
    quality = 0.5 * zscore(log_pop) + np.sqrt(0.75) * rng.normal(size=n)
    appeal = rng.normal(size=n)
    return Items(
        topic=topic,
        quality=quality,
        appeal=appeal,
        log_pop=log_pop,
        tags=make_tags(topic, sc.n_tags, rng),
        likes_level=_level(quality, rng.normal(0, 0.4, n)),
        views_level=_level(zscore(log_pop), rng.normal(0, 0.4, n)),
    )


@dataclass
class Users:
    topics: np.ndarray  # (U, 3) preferred topics
    weights: np.ndarray  # (U, 3) preference weights, 0 for unused slots
    seq_start: np.ndarray  # (U + 1,) offsets into seq_flat; user u (0-based) = user id u + 1
    seq_flat: np.ndarray  # int32 item ids, every user's full click sequence, oldest first

    @property
    def seq_len(self) -> np.ndarray:
        return np.diff(self.seq_start)


def _preferred_topics(users: np.ndarray, u: Users, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(u.weights[users], axis=1)
    slot = (rng.random(len(users))[:, None] > cum[:, :2]).sum(axis=1)
    return u.topics[users, slot]


def make_users(sc: Scale, sampler: TopicSampler, rng: np.random.Generator) -> Users:
    n = sc.n_users
    topics = np.argsort(rng.random((n, N_TOPICS), dtype=np.float32), axis=1)[:, :3]
    n_pref = rng.choice([1, 2, 3], size=n, p=[0.4, 0.4, 0.2])
    weights = rng.gamma(2.0, size=(n, 3)) * (np.arange(3)[None, :] < n_pref[:, None])
    weights /= weights.sum(axis=1, keepdims=True)
    length = np.clip(np.rint(np.exp(rng.normal(np.log(10.0), 0.8, n))), 2, 400).astype(np.int64)
    seq_start = np.concatenate([[0], np.cumsum(length)])
    users = Users(topics, weights, seq_start, np.empty(0, np.int32))

    owner = np.repeat(np.arange(n), length)
    click_topic = _preferred_topics(owner, users, rng)
    explore = rng.random(len(owner)) < EXPLORE
    click_topic[explore] = rng.integers(0, N_TOPICS, int(explore.sum()))
    users.seq_flat = sampler.by_topic(click_topic, rng).astype(np.int32)
    return users


# ----------------------------------------------------------------------------------------------
# rows: (user, cutoff in the user's sequence, target) and their labels


@dataclass
class Rows:
    user: np.ndarray  # 0-based user index
    cutoff: np.ndarray  # history = the user's clicks [0, cutoff), last 64 shown
    target: np.ndarray  # item id
    logit: np.ndarray  # without bias
    label: np.ndarray | None = None
    prob: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user)


def history(users: Users, user: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    """(n, 64) int32 item ids of the last <= 64 clicks before ``cutoff``, left-padded with 0."""
    return layout.history(users.seq_start, users.seq_flat, user, cutoff)


def _topic_share(hist: np.ndarray, target_topic: np.ndarray, item_topic: np.ndarray) -> np.ndarray:
    present = hist > 0
    same = present & (item_topic[hist] == target_topic[:, None])
    return same.sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def make_rows(users: Users, user: np.ndarray, cutoff: np.ndarray, items: Items, item_topic: np.ndarray,
              sampler: TopicSampler, rng: np.random.Generator) -> Rows:
    n = len(user)
    target = sampler.popular(n, rng)
    from_pref = rng.random(n) < PREF_TARGET_SHARE
    target[from_pref] = sampler.by_topic(_preferred_topics(user[from_pref], users, rng), rng)
    share = np.empty(n)
    for start in range(0, n, ROW_CHUNK):
        sl = slice(start, start + ROW_CHUNK)
        share[sl] = _topic_share(history(users, user[sl], cutoff[sl]), item_topic[target[sl]], item_topic)
    t = target - 1
    logit = A_MATCH * share + B_QUALITY * items.quality[t] + C_APPEAL * items.appeal[t]
    return Rows(user, cutoff, target, logit)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrate_bias(logit: np.ndarray, rate: float) -> float:
    lo, hi = -20.0, 20.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if _sigmoid(logit + mid).mean() > rate:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _split_users(sc: Scale, users: Users, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(user, cutoff) for each split. ~92 % of users have train rows, ~3-4 each, near the end of their
    sequence; valid/test rows see the whole sequence and 95 % of them belong to users seen in train."""
    active = rng.random(sc.n_users) < ACTIVE_USERS
    mean_rows = sc.n_train / max(int(active.sum()), 1)
    per_user = np.where(active, 1 + rng.poisson(max(mean_rows - 1.0, 0.0), sc.n_users), 0)
    train_user = np.repeat(np.arange(sc.n_users), per_user)
    if len(train_user) >= sc.n_train:
        train_user = rng.choice(train_user, sc.n_train, replace=False)
    else:
        extra = rng.choice(np.flatnonzero(active), sc.n_train - len(train_user))
        train_user = rng.permutation(np.concatenate([train_user, extra]))
    lengths = users.seq_len
    back = rng.integers(0, 4, sc.n_train)
    train_cut = np.maximum(lengths[train_user] - back, 1)
    seen = np.zeros(sc.n_users, bool)
    seen[train_user] = True
    seen_ids, unseen_ids = np.flatnonzero(seen), np.flatnonzero(~seen)
    out = {"train": (train_user, train_cut)}
    for name, n in (("valid", sc.n_valid), ("test", sc.n_test)):
        user = rng.choice(seen_ids, n)
        if len(unseen_ids):
            new = rng.random(n) < 1.0 - SEEN_EVAL_USERS
            user[new] = rng.choice(unseen_ids, int(new.sum()))
        out[name] = (user, lengths[user])
    return out


# ----------------------------------------------------------------------------------------------
# shipped embeddings: noisy linear projections of the latent item content


def _embeddings(items: Items, rng: np.random.Generator) -> dict[str, np.ndarray]:
    onehot, group = topic_blocks(items.topic)
    appeal, quality, pop = column(items.appeal), column(items.quality), column(items.log_pop)
    recipes = {
        "txt_emb_BERT": ([onehot, 0.5 * group], schema.TXT_DIM, 1.0),
        "img_emb_CLIPRN50": ([onehot, 0.5 * group, appeal], schema.IMG_DIM, 1.0),
        "item_emb_d128": ([onehot, 0.5 * group, 0.7 * appeal], schema.EMB_DIM, 0.8),
        "item_emb_d128_v1": ([onehot], schema.EMB_DIM, 1.0),
        "item_emb_d128_v2": ([onehot, 0.7 * appeal], schema.EMB_DIM, 0.8),
        "item_emb_d128_v3": ([onehot, 0.7 * appeal, 0.5 * quality, 0.5 * pop], schema.EMB_DIM, 0.6),
        "item_emb_d128_e4": ([onehot, 0.5 * group], schema.EMB_DIM, 1.5),
    }
    return {name: project(parts, dim, noise, rng) for name, (parts, dim, noise) in recipes.items()}


# ----------------------------------------------------------------------------------------------
# writing the layout


def _write_truth(root: Path, items: Items, test: Rows) -> None:
    (root / TRUTH_DIR).mkdir()
    pq.write_table(pa.table({
        "item_id": np.arange(1, len(items.topic) + 1, dtype=np.int64),
        "topic": items.topic.astype(np.int64),
        "quality": items.quality, "appeal": items.appeal, "log_pop": items.log_pop,
    }), root / TRUTH_DIR / "items.parquet")
    pq.write_table(pa.table({
        "ID": np.arange(len(test), dtype=np.int64), "label": test.label.astype(np.int64), "prob": test.prob,
    }), root / TRUTH_DIR / "test.parquet")


# ----------------------------------------------------------------------------------------------


def generate(out_dir: Path, scale: str = "tiny", seed: int = 0, overwrite: bool = False) -> dict:
    """Write a complete synthetic data root at ``out_dir`` and return the facts of ``oracle.json``.

    Everything is written into a temporary folder beside ``out_dir`` and renamed at the end, so
    ``out_dir`` either does not exist or holds a complete dataset.
    """
    if scale not in SCALES:
        raise DataError(f"world 1 has no synthetic scale '{scale}'; choose one of {', '.join(SCALES)}, or world 2")
    return layout.build_atomically(out_dir, overwrite, lambda tmp: _generate_into(tmp, SCALES[scale], scale, seed))


def _generate_into(root: Path, sc: Scale, scale: str, seed: int) -> dict:
    # one generator per concern, so changing one part leaves the others' draws unchanged
    rngs = [np.random.default_rng([seed, k]) for k in range(8)]
    items = make_items(sc, rngs[0])
    item_topic = np.concatenate([[-1], items.topic])  # id-aligned; padding matches no topic
    sampler = TopicSampler(items.topic, np.exp(items.log_pop))
    users = make_users(sc, sampler, rngs[1])
    split_rows = {}
    for k, (name, (user, cutoff)) in enumerate(_split_users(sc, users, rngs[2]).items()):
        split_rows[name] = make_rows(users, user, cutoff, items, item_topic, sampler, rngs[3 + k])
    bias = calibrate_bias(split_rows["train"].logit, POSITIVE_RATE)
    label_rng = rngs[6]
    for rows in split_rows.values():
        rows.prob = _sigmoid(rows.logit + bias)
        rows.label = (label_rng.random(len(rows)) < rows.prob).astype(np.int8)

    root.mkdir(parents=True)
    covers = CoverWriter(root / schema.IMAGE_DIR, seed, items.topic, items.appeal, N_TOPICS,
                         sc.image_size, workers=sc.cover_workers)
    titles = make_titles(items.topic, rngs[7])
    layout.write_items(root, items.tags, items.likes_level, items.views_level, titles,
                       _embeddings(items, np.random.default_rng([seed, 100])))
    likes, views = (np.concatenate([[0], lv]) for lv in (items.likes_level, items.views_level))
    for name, rows in split_rows.items():
        layout.write_split(root, name, rows.user, rows.cutoff, rows.target, rows.label, users.seq_start,
                           users.seq_flat, likes, views)
    layout.write_item_seq(root, users.seq_start, users.seq_flat)
    _write_truth(root, items, split_rows["test"])
    covers.wait()

    facts = {
        "valid_auc": auc(split_rows["valid"].label, split_rows["valid"].prob),
        "test_auc": auc(split_rows["test"].label, split_rows["test"].prob),
        "train_auc": auc(split_rows["train"].label, split_rows["train"].prob),
        "positive_rate": {name: float(r.label.mean()) for name, r in split_rows.items()},
        "rows": {name: len(r) for name, r in split_rows.items()},
        schema.ORACLE_BINDING: schema.labels_fingerprint(split_rows["valid"].label),
        **layout.identity_facts(sc.n_items + 1, sc.n_users, sc.n_tags, N_TOPICS, scale, seed, "mmbench.data.synth",
                                GENERATOR_VERSION),
        "click_model": {"match": A_MATCH, "quality": B_QUALITY, "appeal": C_APPEAL, "bias": bias,
                        "pref_target_share": PREF_TARGET_SHARE, "explore": EXPLORE,
                        "active_users": ACTIVE_USERS, "seen_eval_users": SEEN_EVAL_USERS},
        "scale_config": asdict(sc),
    }
    (root / schema.ORACLE_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return facts
