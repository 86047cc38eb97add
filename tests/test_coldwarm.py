"""`mmbench data coldwarm`: saved valid predictions scored on cold vs warm candidate rows."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmbench.contract.components import ValidPredictions
from mmbench.leaderboard import store
from mmbench.run.row import Row
from mmbench.cli import main
from mmbench.data import schema
from mmbench.data.truth import TRUTH_DIR
from mmbench.errors import DataError, MMBenchError
from mmbench.run.metrics import auc
from mmbench.report.coldwarm import read_candidates, score
from protocol_roots import HOT, build_root

DATASET = "toy"


def _record(directory: Path, encoder: str, seed: int, probs: np.ndarray, labels: np.ndarray) -> None:
    cfg = {"dataset": {"name": DATASET}, "encoder": {"name": encoder}, "reducer": {"name": "none"},
           "model": {"name": "m"}, "train": {"seed": seed}}
    row = Row(dataset=DATASET, encoder=encoder, reducer="none", model="m", seed=seed, valid_auc=auc(labels, probs),
              config_hash=f"{encoder}{seed}", config=json.dumps(cfg))
    store.record_row(directory, row, ValidPredictions(probs, labels))


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """Valid candidates 11..40 never occur in train (cold). On warm rows both encoders score equally
    well; on cold rows only `text` can (the `random` control's scores there are pure noise)."""
    base = tmp_path_factory.mktemp("coldwarm")
    root = base / "root"
    build_root(root, {"train": 200, "valid": 400, "test": 5})
    valid = pq.read_table(root / schema.VALID.path)
    labels = valid.column("label").to_numpy().astype(np.float32)
    cold = valid.column("item_id").to_numpy() > HOT
    rng = np.random.default_rng(1)
    for seed in (1, 2):
        noise = rng.standard_normal((2, len(labels)))
        _record(base / "lb", "text", seed, 1.0 * labels + noise[0], labels)
        _record(base / "lb", "random", seed, np.where(cold, 0.0, 1.0) * labels + noise[1], labels)
    return base / "lb", root, labels, cold


def test_cold_rows_are_the_candidates_never_in_train(board):
    _, root, labels, cold = board
    cand = read_candidates(root)
    assert np.array_equal(cand.train_rows == 0, cold) and np.array_equal(cand.label, labels)
    assert cand.train_rows[~cold].min() >= 50 and cand.oracle is None


def test_content_beats_the_control_on_cold_rows_only(board):
    directory, root, labels, cold = board
    r = score(directory, DATASET, root)
    assert r["reference"] == "random / none / m"
    assert r["subsets"]["cold"] == {"rows": int(cold.sum()), "positives": int(labels[cold].sum())}
    text = next(c for c in r["combos"] if c["encoder"] == "text")
    preds = store.load_predictions(directory, DATASET, ["text1", "text2"])[1]
    want = np.mean([auc(labels[cold], preds[h][cold]) for h in ("text1", "text2")])
    assert text["cold"]["auc"] == pytest.approx(want, abs=1e-9)  # seed-mean AUC on exactly the cold rows
    assert text["cold"]["delta"] > 0.15 and text["cold"]["p"] < 1e-4
    assert abs(text["warm"]["delta"]) < 0.05 and text["warm"]["p"] > 0.01
    margin = text["margin_cold_minus_warm"]
    assert margin["diff"] == pytest.approx(text["cold"]["delta"] - text["warm"]["delta"]) and margin["p"] < 1e-3
    control = next(c for c in r["combos"] if c["reference"])
    assert control["cold"]["delta"] is None and control["margin_cold_minus_warm"] is None


def test_threshold_oracle_and_command_output(board, tmp_path, capsys):
    directory, root, labels, _ = board
    everything_cold = score(directory, DATASET, root, max_train_rows=10**6)
    assert everything_cold["subsets"]["warm"]["rows"] == 0 and everything_cold["combos"][0]["warm"] is None
    (root / TRUTH_DIR).mkdir(exist_ok=True)
    pq.write_table(pa.table({"label": labels.astype(np.int64), "prob": labels * 0.5 + 0.25}), root / TRUTH_DIR / "valid.parquet")
    try:
        assert score(directory, DATASET, root)["oracle"] == {"all": 1.0, "cold": 1.0, "warm": 1.0}
        assert main(["data", "coldwarm", "--dataset", DATASET, "--leaderboard-dir", str(directory),
                     "--data-root", str(root), "--reference", "text/none/m"]) == 0
    finally:
        (root / TRUTH_DIR / "valid.parquet").unlink()
    out = capsys.readouterr().out
    assert "reference: text / none / m" in out and "oracle (true probabilities)" in out
    assert "random / none / m" in out and "Δcold-Δwarm" in out


def test_predictions_of_other_data_are_refused_in_one_line(board, tmp_path, capsys):
    directory, _, _, _ = board
    other = tmp_path / "other"
    build_root(other, {"train": 20, "valid": 400, "test": 5}, seed=7)
    table = pq.read_table(other / schema.VALID.path)
    flipped = pa.array(1 - table.column("label").to_numpy())
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", flipped), other / schema.VALID.path)
    with pytest.raises(DataError, match="differ from the saved valid labels"):
        score(directory, DATASET, other)
    assert main(["data", "coldwarm", "--dataset", "nothing", "--leaderboard-dir", str(directory),
                 "--data-root", str(other)]) != 0
    err = capsys.readouterr().err
    assert "no leaderboard" in err and len(err.strip().splitlines()) == 1


def test_a_long_variant_label_is_shown_whole():
    from mmbench.report.coldwarm import format_table

    label = "random / pca-64 / din [model.id_dropout=0.5, model.item_tags=False]"
    entry = {"label": label, "n_seeds": 3, "reference": True, "all": {"auc": 0.7, "delta": None, "p": None}}
    lines = format_table({"subsets": {"all": {"rows": 10, "positives": 3}}, "reference": label,
                          "combos": [entry], "oracle": None}, "none")
    assert any(line.startswith(label + " ") for line in lines)


def test_test_rows_need_the_roots_test_labels_and_runs_that_saved_test_predictions(board, capsys):
    directory, root, _, _ = board
    with pytest.raises(DataError, match=r"synth_truth/test.parquet is missing: .*--split test needs them: use --split valid"):
        score(directory, DATASET, root, split="valid+test")
    ids = pq.read_table(root / schema.TEST.path, columns=["ID"]).column(0).to_numpy()
    (root / TRUTH_DIR).mkdir(exist_ok=True)
    pq.write_table(pa.table({"ID": ids, "label": np.arange(len(ids)) % 2, "prob": np.full(len(ids), 0.5)}),
                   root / TRUTH_DIR / "test.parquet")
    try:
        with pytest.raises(MMBenchError, match="no saved test predictions .*rerun older runs"):
            score(directory, DATASET, root, split="test")
        assert main(["data", "coldwarm", "--dataset", DATASET, "--leaderboard-dir", str(directory),
                     "--data-root", str(root), "--split", "test"]) != 0
    finally:
        (root / TRUTH_DIR / "test.parquet").unlink()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_report_names_the_combinations_a_pooled_split_leaves_out():
    from mmbench.report.coldwarm import format_report

    report = {"dataset": "toy", "root": "r", "max_train_rows": 0, "split": "valid+test", "reference": None,
              "left_out": [f"c{i} / none / m" for i in range(5)], "subsets": {"all": {"rows": 4, "positives": 2}},
              "combos": [], "oracle": None}
    line = next(x for x in format_report(report).splitlines() if "left out" in x)
    assert "5 combination(s) without saved valid+test predictions" in line and line.endswith("c2 / none / m; and 2 more)")


def test_the_split_choices_of_the_commands_are_the_reports_own():
    """The parser keeps its own copy (building it must not import the report's statistics)."""
    from mmbench.commands import data_reports
    from mmbench.report.coldwarm import SPLIT_CHOICES

    assert data_reports.SPLIT_CHOICES == SPLIT_CHOICES


def test_the_default_reference_is_whichever_encoder_declares_itself_content_free(monkeypatch):
    """No encoder name is wired into the report: the built-in `random` declares ``content_free``, and so
    can a plugin's control."""
    import fakes

    from mmbench.report import coldwarm
    from mmbench.contract import registry

    assert coldwarm.content_free_encoders() == {"random"}
    monkeypatch.setattr(fakes.RandomEncoder, "content_free", True)
    monkeypatch.setattr(registry, "default_registry", fakes.registry_with_fakes)
    assert coldwarm.content_free_encoders() == {"random_fake"}
