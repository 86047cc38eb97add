"""`mmbench data mechanisms`: valid users classed by how their next click links to their history."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmbench.cli import main
from mmbench.contract.components import ValidPredictions
from mmbench.data import schema
from mmbench.data.truth import TRUTH_DIR
from mmbench.errors import DataError
from mmbench.leaderboard import store
from mmbench.report.mechanisms import CLASSES, classify, score
from mmbench.run.metrics import auc
from mmbench.run.row import Row

DATASET = "toy-w2"
N_ITEMS = 40
# item 1 -> successor 2 (and 2 shares item 1's community: series wins over coclick);
# items 3 and 5 share community 7; items 6 and 8 share niche 3; every other item is alone.
PATTERNS = {  # class: (history, positive)
    "series": ([0, 0, 4, 1], 2),
    "coclick": ([0, 0, 3, 4], 5),
    "niche": ([0, 6, 4, 9], 8),
    "unlinked": ([0, 0, 4, 9], 12),
}
USERS_PER_CLASS = 30


def _truth(root: Path, columns=("item_id", "community", "interest", "successor")) -> None:
    ids = np.arange(1, N_ITEMS + 1)
    community, interest, successor = 100 + ids, 200 + ids, np.zeros(N_ITEMS, np.int64)
    successor[0] = 2
    community[[0, 1]] = 1
    community[[2, 4]] = 7
    interest[[5, 7]] = 3
    table = {"item_id": ids, "community": community, "interest": interest, "successor": successor}
    (root / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({c: table[c] for c in columns}), root / TRUTH_DIR / "items.parquet")


def _valid(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """4 rows per user (positive first, then 3 negatives from items 20..40 that link to nothing)."""
    rng = np.random.default_rng(0)
    users, seqs, items, labels, classes = [], [], [], [], []
    for k, (name, (history, positive)) in enumerate(PATTERNS.items()):
        for u in range(USERS_PER_CLASS):
            negatives = rng.choice(np.arange(20, N_ITEMS + 1), 3, replace=False)
            for item, label in [(positive, 1)] + [(int(n), 0) for n in negatives]:
                users.append(1000 * k + u)
                seqs.append(history)
                items.append(item)
                labels.append(label)
                classes.append(name)
    (root / schema.VALID.path).parent.mkdir(parents=True, exist_ok=True)
    flat = pa.array(np.array(seqs, np.int64).reshape(-1))
    pq.write_table(pa.table({"user_id": np.array(users, np.int64),
                             "item_seq": pa.FixedSizeListArray.from_arrays(flat, 4),
                             "item_id": np.array(items, np.int64), "label": np.array(labels, np.int64)}),
                   root / schema.VALID.path)
    return np.array(labels, np.int8), np.array(classes)


def _record(directory: Path, model: str, seed: int, probs: np.ndarray, labels: np.ndarray) -> None:
    cfg = {"dataset": {"name": DATASET}, "encoder": {"name": "e"}, "reducer": {"name": "none"},
           "model": {"name": model}, "train": {"seed": seed}}
    row = Row(dataset=DATASET, encoder="e", reducer="none", model=model, seed=seed, valid_auc=auc(labels, probs),
              config_hash=f"{model}{seed}", config=json.dumps(cfg))
    store.record_row(directory, row, ValidPredictions(probs, labels))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """`seq` ranks positives right on series rows only; `ref` is noise everywhere."""
    base = tmp_path_factory.mktemp("mechanisms")
    root = base / "root"
    _truth(root)
    labels, classes = _valid(root)
    rng = np.random.default_rng(1)
    for seed in (1, 2):
        noise = rng.standard_normal((2, len(labels)))
        _record(base / "lb", "seq", seed, np.where(classes == "series", 3.0 * labels, 0.0) + noise[0], labels)
        _record(base / "lb", "ref", seed, noise[1], labels)
    return base / "lb", root, labels, classes


def test_each_user_goes_to_the_first_class_its_positive_fits(world):
    _, root, labels, classes = world
    got_labels, masks = classify(root)
    assert np.array_equal(got_labels, labels) and list(masks) == list(CLASSES)
    for name in CLASSES:
        assert np.array_equal(masks[name], classes == name), name  # all 4 rows of a user, by its positive
    assert sum(m.astype(int) for m in masks.values()).max() == 1


def test_a_model_that_finds_one_mechanism_gains_on_its_class_only(world):
    directory, root, labels, classes = world
    r = score(directory, DATASET, root, reference="e/none/ref")
    assert r["subsets"]["series"] == {"rows": 4 * USERS_PER_CLASS, "positives": USERS_PER_CLASS}
    seq = next(c for c in r["combos"] if c["model"] == "seq")
    preds = store.load_predictions(directory, DATASET, ["seq1", "seq2"])[1]
    rows = classes == "series"
    assert seq["series"]["auc"] == pytest.approx(np.mean([auc(labels[rows], preds[h][rows]) for h in ("seq1", "seq2")]))
    assert seq["series"]["delta"] > 0.3 and seq["series"]["p"] < 1e-4
    for name in ("coclick", "niche", "unlinked"):
        assert abs(seq[name]["delta"]) < 0.2 and seq[name]["p"] > 0.001, name
    assert r["oracle"] is None  # no synth_truth/valid.parquet here


def test_command_prints_every_class_and_bad_roots_get_one_line(world, tmp_path, capsys):
    directory, root, _, _ = world
    assert main(["data", "mechanisms", "--dataset", DATASET, "--leaderboard-dir", str(directory),
                 "--data-root", str(root), "--reference", "e/none/ref"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name} AUC" in out for name in CLASSES) and "reference: e / none / ref" in out

    world1 = tmp_path / "w1"
    _valid(world1)
    with pytest.raises(DataError, match="items.parquet is missing"):
        classify(world1)
    _truth(world1, columns=("item_id", "interest"))
    with pytest.raises(DataError, match="no column community, successor"):
        classify(world1)
    assert main(["data", "mechanisms", "--dataset", DATASET, "--leaderboard-dir", str(directory),
                 "--data-root", str(world1)]) != 0
    err = capsys.readouterr().err
    assert "not a world-2 or world-3 truth table" in err and len(err.strip().splitlines()) == 1


def test_a_valid_file_without_the_challenge_columns_is_named(tmp_path):
    root = tmp_path / "r"
    _truth(root)
    (root / schema.VALID.path).parent.mkdir(parents=True)
    pq.write_table(pa.table({"user_id": [1], "item_id": [2], "label": [1]}), root / schema.VALID.path)
    with pytest.raises(DataError, match="no column item_seq"):
        classify(root)
    pq.write_table(pa.table({"user_id": [1, 2], "item_seq": [[1, 2], [0, 0, 1]], "item_id": [2, 2], "label": [1, 0]}),
                   root / schema.VALID.path)
    with pytest.raises(DataError, match="'item_seq' must hold one list .* of one length"):
        classify(root)
    # another tool's plain list<int32> column of equal lengths is the same data
    pq.write_table(pa.table({"user_id": [1, 1], "item_seq": pa.array([[0, 1], [0, 1]], pa.list_(pa.int32())),
                             "item_id": [2, 30], "label": [1, 0]}), root / schema.VALID.path)
    labels, masks = classify(root)
    assert masks["series"].tolist() == [True, True] and labels.tolist() == [1, 0]


def test_the_test_split_is_classed_alike_and_pools_with_valid(tmp_path):
    """The valid rows again as a labelled test split (shuffled, its truth in another order): each test
    user gets its class, and --split valid+test scores both splits' rows, one after the other."""
    root = tmp_path / "root"
    _truth(root)
    labels, classes = _valid(root)
    valid = pq.read_table(root / schema.VALID.path)
    order = np.random.default_rng(2).permutation(valid.num_rows)
    ids = np.arange(valid.num_rows, dtype=np.int64)[::-1].copy()
    test = valid.take(pa.array(order)).drop_columns(["label"]).append_column("ID", pa.array(ids))
    pq.write_table(test, root / schema.TEST.path)
    pq.write_table(pa.table({"ID": ids[::-1].copy(), "label": labels[order][::-1].astype(np.int64),
                             "prob": np.full(len(ids), 0.5)}), root / TRUTH_DIR / "test.parquet")
    test_labels, masks = classify(root, "test")
    assert np.array_equal(test_labels, labels[order])
    for name in CLASSES:
        assert np.array_equal(masks[name], classes[order] == name), name
    rng = np.random.default_rng(3)
    probs = np.where(classes == "series", 3.0 * labels, 0.0) + rng.standard_normal(len(labels))
    cfg = {"dataset": {"name": DATASET}, "encoder": {"name": "e"}, "reducer": {"name": "none"}, "model": {"name": "seq"},
           "train": {"seed": 1}}
    row = Row(dataset=DATASET, encoder="e", reducer="none", model="seq", seed=1, valid_auc=auc(labels, probs),
              config_hash="seq1", config=json.dumps(cfg))
    store.record_row(tmp_path / "lb", row, ValidPredictions(probs, labels, probs[order], labels[order]))
    r = score(tmp_path / "lb", DATASET, root, split="valid+test")
    assert r["subsets"]["series"] == {"rows": 8 * USERS_PER_CLASS, "positives": 2 * USERS_PER_CLASS}
    both = np.concatenate([classes, classes[order]]) == "series"
    want = auc(np.concatenate([labels, labels[order]])[both], np.concatenate([probs, probs[order]])[both])
    assert r["combos"][0]["series"]["auc"] == pytest.approx(want)
    assert r["oracle"] is None  # valid has no synth_truth/valid.parquet here, so the pool has no oracle
    assert score(tmp_path / "lb", DATASET, root, split="test")["oracle"]["series"] == 0.5  # test's own probs
