"""`mmbench data marginals`: the protocol's marginals measured on hand-built roots with known answers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmbench.cli import main
from mmbench.data import schema
from mmbench.data.marginals import compute, format_report
from protocol_roots import HOT, N_ITEMS, build_root


@pytest.fixture(scope="module")
def protocol_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("marginals") / "root"
    build_root(root, {"train": 300, "valid": 20, "test": 30}, extra_users=5)
    return root


def test_marginals_of_a_root_that_follows_the_protocol(protocol_root):
    m = compute(protocol_root)
    train, valid, test = (m["splits"][s] for s in ("train", "valid", "test"))
    assert (train["rows"], train["users"], valid["users"], test["users"]) == (1200, 300, 20, 30)
    for split in (train, valid, test):
        assert split["rows_per_user"] == {4: split["users"]}
        assert split["users_with_differing_histories"] == 0
        assert split["rows_matching_item_seq"] == split["rows"]
    assert train["positives_per_user"] == {1: 300} and train["positive_rate"] == 0.25
    assert valid["positives_per_user"] == {1: 20} and test["positive_rate"] is None
    assert train["candidate_in_its_history"] == 0
    assert m["users_shared_by_splits"] == {"train&valid": 0, "train&test": 0, "valid&test": 0}
    assert m["item_seq"]["users"] == 355 and m["item_seq"]["users_in_no_split"] == 5
    sample = m["train_sample"]
    assert sample["rows"] == 960 and sample["expected_users"] == pytest.approx(300 * (1 - 0.2 ** 4))
    assert sample["items"] == HOT and sample["item_share"] == HOT / N_ITEMS  # every hot item, nothing else
    assert abs(sample["users"] - sample["expected_users"]) < 5
    lengths = train["history_length"]
    assert lengths["max"] == 64 and 1 <= lengths["min"] and sum(lengths["bins"].values()) == 1200


def test_marginals_expose_rows_that_break_the_protocol(protocol_root, tmp_path):
    """A user with 5 rows and 2 positives, a user in two splits, a history that is not the sequence."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "broken"
    import shutil

    shutil.copytree(protocol_root, root)
    path = root / schema.TRAIN.path
    table = pq.read_table(path)
    user = table.column("user_id").to_numpy().copy()
    label = table.column("label").to_numpy().copy()
    seq = np.asarray(table.column("item_seq").combine_chunks().flatten()).reshape(-1, 64).copy()
    user[4] = user[0]  # row 4 moves to the first user: 5 rows, 2 positives, a differing history
    user[8] = pq.read_table(root / schema.VALID.path, columns=["user_id"]).column(0)[0].as_py()
    seq[12, -1] = table.column("item_id")[12].as_py()  # a candidate inside its own history
    label[13] = 1
    table = table.set_column(table.schema.get_field_index("user_id"), "user_id", pa.array(user))
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(label))
    table = table.set_column(table.schema.get_field_index("item_seq"), "item_seq",
                             pa.FixedSizeListArray.from_arrays(pa.array(seq.reshape(-1)), 64))
    pq.write_table(table, path)

    train = compute(root)["splits"]["train"]
    # users 2 and 3 lost a row, user 1 gained one, the valid user has one train row
    assert train["rows_per_user"] == {1: 1, 3: 2, 4: 297, 5: 1}
    assert train["users_with_differing_histories"] >= 2 and train["candidate_in_its_history"] == 1
    assert train["positives_per_user"][2] == 2 and train["rows_matching_item_seq"] == 1200 - 3
    assert compute(root)["users_shared_by_splits"]["train&valid"] == 1


def test_marginals_command_prints_the_protocol_checks(protocol_root, capsys):
    assert main(["data", "marginals", str(protocol_root)]) == 0
    out = capsys.readouterr().out
    assert "rows per user         exactly 4 (all 300)" in out
    assert "positives per user    exactly 1 (all 300)" in out and "positive rate         25.00%" in out
    assert "(disjoint)" in out and "= 25.0% of all items ever a target" in out
    assert "1,200 of 1,200 rows: history is the last <= 64 clicks" in out
    assert "355 users (5 in no split)" in out
    assert main(["data", "marginals", str(protocol_root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["valid"]["rows_per_user"] == {"4": 20}


def test_marginals_of_a_missing_root_is_one_line(tmp_path, capsys):
    assert main(["data", "marginals", str(tmp_path / "nowhere")]) != 0
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_report_formats_a_root_without_item_seq(protocol_root, tmp_path):
    import shutil

    root = tmp_path / "no_seq"
    shutil.copytree(protocol_root, root)
    (root / schema.ITEM_SEQ.path).unlink()
    m = compute(root)
    assert m["item_seq"] is None and m["splits"]["train"]["rows_matching_item_seq"] is None
    assert "item_seq.parquet: absent" in format_report(m)


def test_a_generated_world2_root_follows_the_protocol(tmp_path):
    """World 2 of the synthetic data, measured by the same command as the real data."""
    from mmbench_plugins.datasets.synth import world2 as synth_world2

    synth_world2.generate(tmp_path / "w2", "tiny", seed=0)
    m = compute(tmp_path / "w2")
    sc = synth_world2.SCALES["tiny"]
    for name, users in (("train", sc.n_train), ("valid", sc.n_valid), ("test", sc.n_test)):
        split = m["splits"][name]
        assert split["users"] == users and split["rows_per_user"] == {4: users}
        assert split["users_with_differing_histories"] == 0 and split["candidate_in_its_history"] == 0
        assert split["rows_matching_item_seq"] == split["rows"]
        assert split["history_length"]["min"] >= 4
    for name in ("train", "valid"):
        assert m["splits"][name]["positives_per_user"] == {1: m["splits"][name]["users"]}
    assert not any(m["users_shared_by_splits"].values())
    assert m["item_seq"]["users"] == sc.n_users and m["item_seq"]["users_in_no_split"] == sc.n_other
    assert 0.5 < m["train_sample"]["item_share"] < 1.0  # popularity-drawn negatives miss part of the tail
