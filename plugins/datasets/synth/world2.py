"""World 2 of the synthetic MicroLens-1M: the challenge's row protocol over sequential behaviour.

Protocol (as the real marginals imply, docs/synthetic.md): every user belongs to at most
one split and contributes one group of 4 rows sharing one history — its last <= 64 clicks,
left-padded — with 1 positive (the user's actual next click) and 3 negatives drawn by popularity to a
power, excluding the history and the positive. ``item_seq.parquet`` holds every user's clicks
before that next click (the positive itself is withheld: for valid/test users it is the answer).

Behaviour: :mod:`mmbench_plugins.datasets.synth.behaviour` (series, co-click with recency, drifting taste,
popularity; quality and appeal in attractiveness). Cold items: a share of items is *fresh*, released
after the train users' period — train users never click them and train rows never hold them, valid
and test users click them like any other item, so only content can score them.

The oracle (:mod:`mmbench_plugins.datasets.synth.oracle`) is exact; ``oracle.json`` holds its valid/test AUC and
the valid AUC of single-signal scores. Why each strength has its value: docs/synthetic.md.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmbench.errors import DataError
from mmbench.run.metrics import auc
from mmbench.data import schema
from . import layout
from .behaviour import N_SLOTS, RECENCY_WINDOW, ItemWorld, NextClick, Strengths, UserState, make_series
from .content import column, make_tags, project, topic_blocks
from .covers import CoverWriter
from .oracle import Negatives, Oracle
from .titles import N_TOPICS, make_titles
from mmbench.data.types import SEQ_LEN

WORLD = 2
GENERATOR_VERSION = "1"
USER_CHUNK = 131_072  # users simulated together: bounds the (users, clicks) matrix
ORACLE_CHUNK = 16_384  # users scored by the oracle together
MIN_HISTORY = 4  # MicroLens-1M keeps users with >= 5 interactions: >= 4 before the next click


@dataclass(frozen=True)
class Scale:
    n_items: int  # without the padding item 0
    n_train: int  # users per split; each gives 4 rows
    n_valid: int
    n_test: int
    n_other: int  # users in no split (only in item_seq), as 1,000,000 - 900,000 - 2,500 - 94,785
    n_tags: int  # tag vocabulary including padding 0
    image_size: int = 64
    cover_workers: int = 0

    @property
    def n_users(self) -> int:
        return self.n_train + self.n_valid + self.n_test + self.n_other


SCALES = {
    "tiny": Scale(300, 1_250, 250, 250, 10, 120),
    "small": Scale(4_000, 30_000, 2_500, 2_500, 100, 800),
    # a quarter of full (items, train and test users, tags; valid keeps its 2,500 users), for CPU iteration
    "medium": Scale(22_929, 225_000, 2_500, 23_696, 679, 2_935, cover_workers=2),
    "full": Scale(91_717, 900_000, 2_500, 94_785, 2_715, 11_740, cover_workers=2),
}
SPLIT_NAMES = ("train", "valid", "test")


def dataset_id(scale: str, seed: int) -> str:
    return f"microlens_1m_synth-w{WORLD}-{scale}-s{seed}"


# ----------------------------------------------------------------------------------------------
# items


@dataclass
class ItemLatents:
    topic: np.ndarray
    exposure: np.ndarray  # z: latent exposure (promotion), behind popularity
    quality: np.ndarray
    appeal_visual: np.ndarray
    appeal_text: np.ndarray
    fresh: np.ndarray  # (N,) bool


def make_items(sc: Scale, s: Strengths, rng: np.random.Generator) -> tuple[ItemLatents, ItemWorld]:
    n = sc.n_items
    topic = rng.choice(N_TOPICS, size=n, p=rng.dirichlet(np.full(N_TOPICS, 5.0)))
    exposure = rng.normal(size=n)
    quality = 0.3 * exposure + np.sqrt(1 - 0.3**2) * rng.normal(size=n)  # promoted items are a bit better
    appeal_visual, appeal_text = rng.normal(size=n), rng.normal(size=n)
    fresh = rng.random(n) < s.fresh_share
    weight = np.exp(s.pop_spread * exposure + s.quality_weight * quality
                    + s.appeal_visual * appeal_visual + s.appeal_text * appeal_text)
    interest = topic * s.niches_per_topic + rng.integers(0, s.niches_per_topic, n)
    world = ItemWorld(
        topic=topic, interest=interest, n_interests=N_TOPICS * s.niches_per_topic,
        community=rng.integers(0, s.coclick_communities, n), n_communities=s.coclick_communities, weight=weight,
        successor=make_series(interest, s.series_share, s.series_length, rng),
        fresh=np.concatenate([[False], fresh]),
    )
    return ItemLatents(topic, exposure, quality, appeal_visual, appeal_text, fresh), world


def shipped_embeddings(it: ItemLatents, world: ItemWorld, rng: np.random.Generator,
                       shown: tuple[np.ndarray, ...] = ()) -> dict[str, np.ndarray]:
    """Shipped embeddings: noisy projections of topic and appeal (the CLIP-like ones read the cover's
    appeal, the BERT-like one the title's); none of them knows series, niches or co-clicks. ``shown``:
    more latent parts every vector also projects (world 3's niches and communities)."""
    onehot, group = topic_blocks(it.topic)
    a_v, a_t = column(it.appeal_visual), column(it.appeal_text)
    quality, exposure = column(it.quality), column(it.exposure)
    recipes = {
        "txt_emb_BERT": ([onehot, 0.5 * group, 0.7 * a_t, *shown], schema.TXT_DIM, 1.0),
        "img_emb_CLIPRN50": ([onehot, 0.5 * group, a_v, *shown], schema.IMG_DIM, 1.0),
        "item_emb_d128": ([onehot, 0.5 * group, 0.7 * a_v, 0.7 * a_t, *shown], schema.EMB_DIM, 0.8),
        "item_emb_d128_v1": ([onehot, *shown], schema.EMB_DIM, 1.0),
        "item_emb_d128_v2": ([onehot, 0.7 * a_v, *shown], schema.EMB_DIM, 0.8),
        "item_emb_d128_v3": ([onehot, 0.7 * a_v, 0.7 * a_t, 0.5 * quality, 0.5 * exposure, *shown], schema.EMB_DIM, 0.6),
        "item_emb_d128_e4": ([onehot, 0.5 * group, *shown], schema.EMB_DIM, 1.5),
    }
    return {name: project(parts, dim, noise, rng) for name, (parts, dim, noise) in recipes.items()}


def _level(count: np.ndarray) -> np.ndarray:
    """Counts -> 0..10 on a log scale (0 clicks -> 0, the most clicked item -> 10)."""
    return np.clip(np.rint(10.0 * np.log1p(count) / np.log1p(max(count.max(), 1))), 0, 10).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# users and their click sequences


@dataclass
class Users:
    split: np.ndarray  # (U,) 0 train, 1 valid, 2 test, 3 none
    n_hist: np.ndarray  # (U,) clicks before the next click
    slots: np.ndarray  # (U, 3) taste topics (at the next click, after drift)
    slot_weight: np.ndarray  # (U, 3)
    seq_start: np.ndarray  # (U + 1,) offsets of each user's history in seq_flat
    seq_flat: np.ndarray  # int32, oldest first
    positive: np.ndarray  # (U,) the next click

    def state(self, users: np.ndarray) -> UserState:
        """The next-click state of ``users``: their last clicks, taste and period (late = valid/test)."""
        n_hist = self.n_hist[users]
        r = np.arange(RECENCY_WINDOW)
        pos = self.seq_start[users][:, None] + n_hist[:, None] - 1 - r[None, :]
        recent = np.where(r[None, :] < n_hist[:, None], self.seq_flat[np.maximum(pos, 0)], 0)
        return UserState(recent, n_hist, self.slots[users], self.slot_weight[users], self.split[users] == 0)

    def histories(self, users: np.ndarray) -> np.ndarray:
        """(n, longest) full histories, oldest first, 0-padded on the right."""
        n_hist = self.n_hist[users]
        width = max(int(n_hist.max(initial=0)), 1)
        c = np.arange(width)
        idx = self.seq_start[users][:, None] + np.minimum(c[None, :], np.maximum(n_hist[:, None] - 1, 0))
        return np.where(c[None, :] < n_hist[:, None], self.seq_flat[idx], 0)


def _draw_interests(world: ItemWorld, n: int, rng: np.random.Generator) -> np.ndarray:
    """Interests drawn by their attractiveness mass (with repeats)."""
    cum = np.cumsum(world.interests.mass) / world.interests.mass.sum()
    return np.minimum(np.searchsorted(cum, rng.random(n)), world.n_interests - 1)


def _taste(world: ItemWorld, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """1-3 interests per user, drawn by attractiveness mass, with gamma(2) weights."""
    slots = _draw_interests(world, n * N_SLOTS, rng).reshape(n, N_SLOTS)
    n_pref = rng.choice([1, 2, 3], size=n, p=[0.4, 0.4, 0.2])
    weight = rng.gamma(2.0, size=(n, N_SLOTS)) * (np.arange(N_SLOTS)[None, :] < n_pref[:, None])
    return slots, weight / weight.sum(axis=1, keepdims=True)


def _history_lengths(sc: Scale, n: int, rng: np.random.Generator) -> np.ndarray:
    """4 + a log-normal tail: mean about 8.4 clicks before the next one (MicroLens-1M: about 9
    interactions per user), a few users beyond the 64 a row shows."""
    cap = min(400, sc.n_items // 5)
    return np.minimum(MIN_HISTORY + np.floor(np.exp(rng.normal(np.log(3.0), 1.0, n))), cap).astype(np.int64)


def make_users(sc: Scale, model: NextClick, rng: np.random.Generator) -> Users:
    n = sc.n_users
    split = np.repeat(np.arange(4), [sc.n_train, sc.n_valid, sc.n_test, sc.n_other])[rng.permutation(n)]
    n_hist = _history_lengths(sc, n, rng)
    slots, slot_weight = _taste(model.world, n, rng)
    seq_start = np.concatenate([[0], np.cumsum(n_hist)])
    users = Users(split, n_hist, slots, slot_weight, seq_start, np.empty(int(seq_start[-1]), np.int32),
                  np.empty(n, np.int64))
    for start in range(0, n, USER_CHUNK):
        _simulate(users, np.arange(start, min(start + USER_CHUNK, n)), model, rng)
    return users


def _simulate(users: Users, chunk: np.ndarray, model: NextClick, rng: np.random.Generator) -> None:
    """Every click of ``chunk``'s users, step by step; users sorted by length so the ones still
    clicking at step t are a prefix. Fills their history, positive and final taste in ``users``."""
    world, s = model.world, model.s
    order = chunk[np.argsort(-users.n_hist[chunk], kind="stable")]
    length = users.n_hist[order] + 1  # history + the next click
    clicks = np.zeros((len(order), int(length[0])), np.int32)
    slots, slot_weight = users.slots[order].copy(), users.slot_weight[order].copy()
    early = users.split[order] == 0
    r = np.arange(RECENCY_WINDOW)
    for t in range(int(length[0])):
        act = int(np.searchsorted(-length, -t, side="left"))  # users with length > t
        if t > 0:  # drift: one used interest replaced by a new one
            moved = np.flatnonzero(rng.random(act) < s.drift)
            n_used = (slot_weight[moved] > 0).sum(axis=1)
            slot = np.minimum((rng.random(len(moved)) * n_used).astype(np.int64), n_used - 1)
            slots[moved, slot] = _draw_interests(world, len(moved), rng)
        cols = t - 1 - r
        recent = np.where(cols[None, :] >= 0, clicks[:act, np.maximum(cols, 0)], 0)
        state = UserState(recent, np.full(act, t), slots[:act], slot_weight[:act], early[:act])
        pending = np.arange(act)
        while pending.size:
            cand = model.draw(state.take(pending), rng)
            bad = (cand == 0) | (clicks[pending, :t] == cand[:, None]).any(axis=1)
            bad |= early[pending] & world.fresh[cand]
            clicks[pending[~bad], t] = cand[~bad]
            pending = pending[bad]
    users.positive[order] = clicks[np.arange(len(order)), length - 1]
    users.slots[order], users.slot_weight[order] = slots, slot_weight
    inside = np.arange(clicks.shape[1])[None, :] < (length - 1)[:, None]
    starts = users.seq_start[order]
    dest = starts[:, None] + np.arange(clicks.shape[1])[None, :]
    users.seq_flat[dest[inside]] = clicks[inside]


# ----------------------------------------------------------------------------------------------
# row groups: 1 positive + 3 negatives per split user


@dataclass
class Groups:
    users: np.ndarray  # (n,) 0-based
    candidates: np.ndarray  # (n, 4) column 0 = the positive
    slot: np.ndarray  # (n, 4) position of each candidate inside the written group

    def rows(self, n_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(user, cutoff, target, label) in written order: 4 consecutive rows per user."""
        n = len(self.users)
        target = np.empty((n, 4), np.int64)
        np.put_along_axis(target, self.slot, self.candidates, axis=1)
        label = np.zeros((n, 4), np.int8)
        label[np.arange(n), self.slot[:, 0]] = 1
        user = np.repeat(self.users, 4)
        return user, n_hist[user], target.reshape(-1), label.reshape(-1)

    def in_written_order(self, values: np.ndarray) -> np.ndarray:
        """Per-candidate values (n, 4) reordered like the written rows, flattened."""
        out = np.empty_like(values)
        np.put_along_axis(out, self.slot, values, axis=1)
        return out.reshape(-1)


def make_groups(users: Users, split: int, neg: Negatives, rng: np.random.Generator) -> Groups:
    member = np.flatnonzero(users.split == split)
    member = member[rng.permutation(len(member))]
    n_items = len(neg.q) - 1
    hist_keys = np.sort(np.repeat(np.arange(len(users.n_hist)), users.n_hist).astype(np.int64) * (n_items + 1)
                        + users.seq_flat)
    cand = np.empty((len(member), 4), np.int64)
    cand[:, 0] = users.positive[member]
    for k in range(1, 4):
        pending = np.arange(len(member))
        while pending.size:
            draw = neg.draw(len(pending), rng)
            key = member[pending].astype(np.int64) * (n_items + 1) + draw
            at = np.minimum(np.searchsorted(hist_keys, key), len(hist_keys) - 1)
            bad = (hist_keys[at] == key) | (draw == cand[pending, 0])
            cand[pending[~bad], k] = draw[~bad]
            pending = pending[bad]
    slot = np.argsort(rng.random((len(member), 4)), axis=1)
    return Groups(member, cand, slot)


# ----------------------------------------------------------------------------------------------
# oracle and single-signal references


def oracle_probabilities(groups: Groups, users: Users, oracle: Oracle) -> np.ndarray:
    """Exact probabilities, in written row order."""
    out = np.empty(groups.candidates.shape)
    for start in range(0, len(groups.users), ORACLE_CHUNK):
        sl = slice(start, start + ORACLE_CHUNK)
        u = groups.users[sl]
        out[sl] = oracle.probabilities(users.state(u), users.histories(u), users.n_hist[u], groups.candidates[sl])
    return groups.in_written_order(out)


def references(groups: Groups, users: Users, topic: np.ndarray, world: ItemWorld, clicks: np.ndarray,
               train_pos: np.ndarray, train_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Single-signal scores of each row (written order), to say which signals a model found."""
    cand = groups.candidates
    u = groups.users
    visible = np.zeros((len(u), SEQ_LEN), np.int64)
    for i0 in range(0, len(u), ORACLE_CHUNK):  # the row's item_seq: last 64 of the history
        sl = slice(i0, i0 + ORACLE_CHUNK)
        visible[sl] = layout.history(users.seq_start, users.seq_flat, u[sl], users.n_hist[u[sl]])
    topic = np.concatenate([[-1], topic])
    present = visible > 0
    share = ((topic[visible][:, None, :] == topic[cand][:, :, None]) & present[:, None, :]).sum(axis=2)
    share = share / np.maximum(present.sum(axis=1), 1)[:, None]
    last = users.state(u).recent[:, 0]
    scores = {
        "popularity": clicks[cand].astype(np.float64),
        "item_prior": (train_pos[cand] + 1.0) / (train_rows[cand] + 4.0),
        "content": share,
        "last_item_coclick": (world.communities.id[last][:, None] == world.communities.id[cand]).astype(np.float64),
    }
    return {name: groups.in_written_order(v) for name, v in scores.items()}


# ----------------------------------------------------------------------------------------------
# writing


def _write_truth(root: Path, it: ItemLatents, world: ItemWorld, valid: dict, test: dict) -> None:
    (root / layout.TRUTH_DIR).mkdir()
    n = len(it.topic)
    pq.write_table(pa.table({
        "item_id": np.arange(1, n + 1, dtype=np.int64), "topic": it.topic.astype(np.int64),
        "interest": world.interest.astype(np.int64), "community": world.community.astype(np.int64),
        "quality": it.quality, "appeal_visual": it.appeal_visual, "appeal_text": it.appeal_text,
        "log_pop": np.log(world.weight), "fresh": it.fresh, "successor": world.successor[1:].astype(np.int64),
    }), root / layout.TRUTH_DIR / "items.parquet")
    pq.write_table(pa.table({
        "label": valid["label"].astype(np.int64), "prob": valid["prob"],
        "train_rows": valid["train_rows"].astype(np.int64), "fresh": valid["fresh"],
    }), root / layout.TRUTH_DIR / "valid.parquet")
    pq.write_table(pa.table({
        "ID": np.arange(len(test["label"]), dtype=np.int64), "label": test["label"].astype(np.int64),
        "prob": test["prob"],
    }), root / layout.TRUTH_DIR / "test.parquet")


@dataclass(frozen=True)
class Variant:
    """What a world built on this protocol changes: its number (which also seeds its draws), its
    shipped embeddings and the facts it adds to ``oracle.json``. World 3 (``world3.py``) is one."""

    world: int = WORLD
    embeddings: Callable[[ItemLatents, ItemWorld, np.random.Generator], dict[str, np.ndarray]] = shipped_embeddings
    facts: dict = field(default_factory=dict)


def generate(out_dir: Path, scale: str = "tiny", seed: int = 0, overwrite: bool = False,
             strengths: Strengths | None = None, variant: Variant | None = None) -> dict:
    """Write a complete world-2 data root at ``out_dir`` (atomically) and return ``oracle.json``'s facts."""
    if scale not in SCALES:
        raise DataError(f"unknown synthetic scale '{scale}'; choose one of {', '.join(SCALES)}")
    s = strengths or Strengths()
    v = variant or Variant()
    return layout.build_atomically(out_dir, overwrite, lambda tmp: _generate_into(tmp, SCALES[scale], scale, seed, s, v))


def _generate_into(root: Path, sc: Scale, scale: str, seed: int, s: Strengths, v: Variant) -> dict:
    # one generator per concern, so changing one part leaves the others' draws unchanged
    rngs = [np.random.default_rng([v.world, seed, k]) for k in range(8)]
    it, world = make_items(sc, s, rngs[0])
    model = NextClick(world, s)
    users = make_users(sc, model, rngs[1])

    clicks = np.bincount(users.seq_flat, minlength=sc.n_items + 1)  # public clicks (item_seq)
    neg_late = Negatives(clicks, s.negative_power)
    neg_early = Negatives(clicks, s.negative_power, excluded=world.fresh)
    groups = {name: make_groups(users, k, neg_early if k == 0 else neg_late, rngs[2 + k])
              for k, name in enumerate(SPLIT_NAMES)}
    rows = {name: g.rows(users.n_hist) for name, g in groups.items()}

    _, _, train_target, train_label = rows["train"]
    train_rows = np.bincount(train_target, minlength=sc.n_items + 1)
    train_pos = np.bincount(train_target, weights=train_label, minlength=sc.n_items + 1)
    oracle = Oracle(model, neg_late)
    prob = {name: oracle_probabilities(groups[name], users, oracle) for name in ("valid", "test")}
    label = {name: rows[name][3] for name in SPLIT_NAMES}
    refs = references(groups["valid"], users, it.topic, world, clicks, train_pos, train_rows)

    root.mkdir(parents=True)
    covers = CoverWriter(root / schema.IMAGE_DIR, seed, it.topic, it.appeal_visual, N_TOPICS, sc.image_size,
                         workers=sc.cover_workers)
    titles = make_titles(it.topic, rngs[5], appeal=it.appeal_text)
    like_rate = 1.0 / (1.0 + np.exp(-(-2.0 + it.quality)))
    likes = rngs[6].binomial(clicks[1:], like_rate)
    levels = {"likes": _level(likes), "views": _level(clicks[1:])}
    layout.write_items(root, make_tags(it.topic, sc.n_tags, rngs[7]), levels["likes"], levels["views"], titles,
                       v.embeddings(it, world, np.random.default_rng([v.world, seed, 100])))
    likes_id, views_id = (np.concatenate([[0], levels[k]]) for k in ("likes", "views"))
    for name, (user, cutoff, target, lab) in rows.items():
        layout.write_split(root, name, user, cutoff, target, lab, users.seq_start, users.seq_flat, likes_id, views_id)
    layout.write_item_seq(root, users.seq_start, users.seq_flat)
    valid_target = rows["valid"][2]
    _write_truth(root, it, world, {"label": label["valid"], "prob": prob["valid"],
                                   "train_rows": train_rows[valid_target], "fresh": world.fresh[valid_target]},
                 {"label": label["test"], "prob": prob["test"]})
    covers.wait()

    facts = {
        "world": v.world,
        "valid_auc": auc(label["valid"], prob["valid"]),
        schema.ORACLE_BINDING: schema.labels_fingerprint(label["valid"]),
        "test_auc": auc(label["test"], prob["test"]),
        "references": {name: auc(label["valid"], score) for name, score in refs.items()},
        "positive_rate": {name: float(label[name].mean()) for name in SPLIT_NAMES},
        "rows": {name: len(label[name]) for name in SPLIT_NAMES},
        "users": {name: len(groups[name].users) for name in SPLIT_NAMES} | {"none": sc.n_other},
        "valid_rows_fresh": int(world.fresh[valid_target].sum()),
        "valid_rows_never_in_train": int((train_rows[valid_target] == 0).sum()),
        "mean_history": float(users.n_hist.mean()),
        **layout.identity_facts(sc.n_items + 1, sc.n_users, sc.n_tags, N_TOPICS, scale, seed,
                                f"mmbench.data.synth_world{v.world}", GENERATOR_VERSION),
        "behaviour": asdict(s),
        **v.facts,
        "scale_config": asdict(sc),
    }
    (root / schema.ORACLE_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return facts
