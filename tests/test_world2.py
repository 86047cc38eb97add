"""World 2 of the synthetic data: the challenge's row protocol, its mechanisms, and its exact oracle."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmbench.data import schema
from mmbench_plugins.datasets.synth import world2 as w2
from mmbench.data.reader import load_mmctr
from mmbench_plugins.datasets.synth.behaviour import ItemWorld, NextClick, UserState, with_strengths
from mmbench.data.truth import TRUTH_DIR
from mmbench_plugins.datasets.synth.oracle import Negatives, Oracle
from mmbench.run.metrics import auc


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world2") / "tiny"
    w2.generate(out, "tiny", seed=0)
    return out


@pytest.fixture(scope="module")
def data(root):
    return load_mmctr(root, w2.dataset_id("tiny", 0))


def _item_seq(root: Path) -> dict[int, list[int]]:
    table = pq.read_table(root / schema.ITEM_SEQ.path)
    return dict(zip(table.column("user_id").to_pylist(), table.column("item_seq").to_pylist()))


# ---------------------------------------------------------------- the row protocol


def test_every_file_has_the_exact_schema_and_the_reader_accepts_it(root, data):
    for spec in schema.ALL_FILES:
        assert pq.read_schema(root / spec.path).remove_metadata() == spec.arrow_schema()
    sc = w2.SCALES["tiny"]
    assert (len(data.train), len(data.valid), len(data.test)) == (4 * sc.n_train, 4 * sc.n_valid, 4 * sc.n_test)
    assert data.items.n_items == sc.n_items + 1 and data.n_tags == sc.n_tags
    assert data.oracle_auc == json.loads((root / "oracle.json").read_text())["valid_auc"]
    assert len(list((root / schema.IMAGE_DIR).glob("*.jpg"))) == sc.n_items


@pytest.mark.parametrize("name", ["train", "valid", "test"])
def test_each_user_gives_one_group_of_4_rows_with_one_positive_and_one_history(data, root, name):
    split = getattr(data, name)
    users = split.user_id.reshape(-1, 4)
    assert (users == users[:, :1]).all() and len(np.unique(users[:, 0])) == len(users)  # 4 consecutive rows
    assert (split.item_seq.reshape(-1, 4, 64) == split.item_seq.reshape(-1, 4, 64)[:, :1]).all()
    labels = split.label if name != "test" else pq.read_table(root / TRUTH_DIR / "test.parquet").column("label").to_numpy()
    assert (labels.reshape(-1, 4).sum(axis=1) == 1).all()
    positions = labels.reshape(-1, 4).argmax(axis=1)
    assert len(np.unique(positions)) == 4  # the positive's place in the group is random
    for hist, cands in zip(split.item_seq[::4], split.item_id.reshape(-1, 4)):
        assert not set(cands.tolist()) & set(hist[hist > 0].tolist())  # no candidate is in its history


def test_splits_hold_disjoint_users_and_item_seq_is_every_users_clicks_before_the_positive(data, root):
    seqs = _item_seq(root)
    sc = w2.SCALES["tiny"]
    assert sorted(seqs) == list(range(1, sc.n_users + 1))
    ids = [set(getattr(data, s).user_id.tolist()) for s in ("train", "valid", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sc.n_users - sum(map(len, ids)) == sc.n_other
    for split in (data.train, data.valid, data.test):
        for user, hist, cand in zip(split.user_id[::4], split.item_seq[::4], split.item_id.reshape(-1, 4)):
            full = seqs[int(user)]
            assert len(full) >= w2.MIN_HISTORY and len(set(full)) == len(full)  # no repeated clicks
            shown = full[-64:]
            assert hist[64 - len(shown):].tolist() == shown and not hist[: 64 - len(shown)].any()
            assert not set(cand.tolist()) & set(full)  # the positive is withheld from item_seq


def test_fresh_items_are_never_in_train_and_only_in_late_histories(data, root):
    truth = pq.read_table(root / TRUTH_DIR / "items.parquet").to_pandas().set_index("item_id")
    fresh = set(truth.index[truth["fresh"]])
    assert fresh and not fresh & set(data.train.item_id.tolist())
    assert not fresh & set(data.train.item_seq[data.train.item_seq > 0].tolist())
    valid = pq.read_table(root / TRUTH_DIR / "valid.parquet").to_pandas()
    counts = np.bincount(data.train.item_id, minlength=data.items.n_items)
    assert (valid["train_rows"].to_numpy() == counts[data.valid.item_id]).all()
    assert valid["fresh"].sum() > 0 and (valid.loc[valid["fresh"], "train_rows"] == 0).all()


def test_generation_is_deterministic_by_seed(root, tmp_path):
    def digest(folder: Path) -> str:
        h = hashlib.sha256()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
        return h.hexdigest()

    w2.generate(tmp_path / "again", "tiny", seed=0)
    w2.generate(tmp_path / "other", "tiny", seed=1)
    assert digest(tmp_path / "again") == digest(root)
    assert digest(tmp_path / "other") != digest(root)


# ---------------------------------------------------------------- the mechanisms


def test_the_named_mechanisms_leave_their_traces(data, root):
    facts = json.loads((root / "oracle.json").read_text())
    truth = pq.read_table(root / TRUTH_DIR / "items.parquet").to_pandas().set_index("item_id")
    successor = np.concatenate([[0], truth["successor"].to_numpy()])
    v = data.valid
    pos = v.label == 1
    last = v.item_seq[:, -1]
    series = successor[last] == v.item_id
    assert series[pos].mean() > 0.05 and series[~pos].mean() < 0.01  # series are watched in order
    assert facts["references"]["last_item_coclick"] > 0.55  # co-clicked with the last click
    assert facts["references"]["content"] > 0.52  # topics of history and candidate (0.65 on small)
    assert facts["valid_auc"] > max(facts["references"].values()) + 0.15  # the oracle uses all of them
    topic = np.concatenate([[-1], truth["topic"].to_numpy()])
    hooked = np.array(["(" in t or "|" in t or " - " in t for t in data.items.titles[1:]])
    assert np.corrcoef(hooked, truth["appeal_text"].to_numpy())[0, 1] > 0.4  # titles carry textual appeal
    assert (topic[1:] == truth["topic"].to_numpy()).all()


def test_the_positive_rate_and_facts_in_oracle_json(root):
    facts = json.loads((root / "oracle.json").read_text())
    assert facts["world"] == 2 and facts["positive_rate"] == {"train": 0.25, "valid": 0.25, "test": 0.25}
    assert set(facts["references"]) == {"popularity", "item_prior", "content", "last_item_coclick"}
    truth = pq.read_table(root / TRUTH_DIR / "valid.parquet").to_pandas()
    assert facts["valid_auc"] == pytest.approx(auc(truth["label"], truth["prob"]))


# ---------------------------------------------------------------- the exact oracle


def _hand_world() -> tuple[NextClick, Negatives]:
    """4 items of one topic and one interest, attractiveness 1 each; series 1 -> 2; co-click
    communities {1, 4} and {2, 3}; clicks (0, 2, 0, 2) so q = (1, 3, 1, 3) / 8."""
    world = ItemWorld(
        topic=np.zeros(4, np.int64), interest=np.zeros(4, np.int64), n_interests=1,
        community=np.array([0, 1, 1, 0]), n_communities=2, weight=np.ones(4),
        successor=np.array([0, 2, 0, 0, 0]), fresh=np.zeros(5, bool),
    )
    strengths = with_strengths(series=0.5, coclick=0.25, taste=0.25, popular=0.0, recency_decay=0.5)
    return NextClick(world, strengths), Negatives(np.array([0, 0, 2, 0, 2]), power=1.0)


def _hand_user() -> tuple[UserState, np.ndarray, np.ndarray]:
    """History 3 then 1 (1 is the last click); one taste interest."""
    recent = np.zeros((1, 16), np.int64)
    recent[0, :2] = [1, 3]
    state = UserState(recent, np.array([2]), np.zeros((1, 3), np.int64), np.array([[1.0, 0, 0]]), np.array([False]))
    return state, np.array([[3, 1]]), np.array([2])


def test_oracle_formula_on_a_hand_checkable_world():
    """By hand: the last click 1 (recency weight 2/3) co-clicks {1, 4}, the click before, 3 (weight
    1/3), co-clicks {2, 3}; series 1 -> 2; taste spreads 1/4 over all. So P_mix = (7, 29, 5, 7) / 48
    for items 1..4. Items 1 and 3 are the history (mass 12/48), so P(2) = 29/36 and P(4) = 7/36. A
    negative avoids the history and the positive: it is 4 when the positive is 2 and 2 when it is 4,
    so Q(2) = 7/36, Q(4) = 29/36, and P(positive | candidate) = P / (P + 3Q) = 29/50 and 7/94."""
    model, neg = _hand_world()
    state, history, hist_len = _hand_user()
    p_mix = model.mix_prob(state, np.array([1, 2, 3, 4]), np.zeros(4, np.int64))
    assert p_mix == pytest.approx(np.array([7, 29, 5, 7]) / 48)
    assert model.forbidden_mass(state, history, hist_len) == pytest.approx([12 / 48])
    probs = Oracle(model, neg).probabilities(state, history, hist_len, np.array([[2, 4]]))
    assert probs[0] == pytest.approx([29 / 50, 7 / 94], rel=1e-12)


def test_the_sampler_draws_what_the_probabilities_say():
    model, _ = _hand_world()
    state, _, _ = _hand_user()
    rng = np.random.default_rng(0)
    draws = model.draw(state.take(np.zeros(40_000, np.int64)), rng)
    freq = np.bincount(draws, minlength=5)[1:] / len(draws)
    expected = model.mix_prob(state, np.arange(1, 5), np.zeros(4, np.int64))
    assert freq == pytest.approx(expected, abs=0.01)


def test_oracle_matches_the_direct_sum_over_every_item_on_a_generated_world():
    """The power series over q must equal Q(c) = q(c) * sum_{j != c allowed} P(j) / (D - q_j) summed
    item by item, with series, co-clicks, drift and several interests in play."""
    sc, s = w2.SCALES["tiny"], with_strengths()
    rng = np.random.default_rng(7)
    _, world = w2.make_items(sc, s, rng)
    model = NextClick(world, s)
    users = w2.make_users(sc, model, rng)
    neg = Negatives(np.bincount(users.seq_flat, minlength=sc.n_items + 1), s.negative_power)
    late = np.flatnonzero(users.split == 1)[:5]
    for u in late:
        state, hist, hist_len = users.state(np.array([u])), users.histories(np.array([u])), users.n_hist[[u]]
        allowed_items = np.setdiff1d(np.arange(1, sc.n_items + 1), hist[0, : hist_len[0]])
        p = model.mix_prob(state, allowed_items, np.zeros(len(allowed_items), np.int64))
        p /= 1.0 - model.forbidden_mass(state, hist, hist_len)[0]
        assert p.sum() == pytest.approx(1.0)
        q = neg.q[allowed_items]
        d = 1.0 - neg.q[hist[0, : hist_len[0]]].sum()
        q_slot = q * ((p / (d - q)).sum() - p / (d - q))
        direct = p / (p + 3 * q_slot)
        assert Oracle(model, neg).probabilities(state, hist, hist_len, allowed_items[None, :])[0] == pytest.approx(direct, rel=1e-10)


def test_medium_is_a_quarter_of_full_with_full_valid_split_and_world_1_refuses_it(tmp_path):
    from mmbench.errors import DataError
    from mmbench_plugins.datasets.synth import world1

    full, medium = w2.SCALES["full"], w2.SCALES["medium"]
    for field in ("n_items", "n_train", "n_test", "n_other", "n_tags"):
        assert abs(getattr(medium, field) - getattr(full, field) / 4) <= 1, field
    assert medium.n_valid == full.n_valid  # 10,000 valid rows: an AUC as precise as full's
    with pytest.raises(DataError, match="world 1 has no synthetic scale 'medium'; choose one of tiny, small, full"):
        world1.generate(tmp_path / "w1", "medium")
    assert not (tmp_path / "w1").exists()
