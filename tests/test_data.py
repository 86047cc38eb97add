"""The MicroLens-1M data layer: exact layout, reader round trip, planted signal, validation errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image

from mmbench.contract.components import RunContext
from mmbench.data import mmbench_home, schema
from mmbench_plugins.datasets.synth import layout as synth_layout, world1 as synth
from mmbench.data.reader import load_mmctr
from mmbench.data.types import SEQ_LEN
from mmbench.errors import DataError
from mmbench.run.metrics import auc


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "tiny"
    synth.generate(root, "tiny", seed=0)
    return root


@pytest.fixture(scope="session")
def tiny(tiny_root):
    return load_mmctr(tiny_root, "tiny")


@pytest.fixture
def copy_root(tiny_root, tmp_path) -> Path:
    """A private copy of the tiny dataset that a test may break (covers left out: not needed)."""
    root = tmp_path / "copy"
    shutil.copytree(tiny_root, root, ignore=shutil.ignore_patterns("*.jpg"))
    return root


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize("spec", schema.ALL_FILES, ids=lambda s: s.path)
def test_every_file_has_the_exact_schema(tiny_root, spec):
    assert pq.read_schema(tiny_root / spec.path).remove_metadata() == spec.arrow_schema()


def test_item_info_has_zero_padding_row_and_all_ids(tiny_root):
    table = pq.read_table(tiny_root / schema.ITEM_INFO.path)
    n = synth.SCALES["tiny"].n_items + 1
    assert table.column("item_id").to_pylist() == list(range(n))
    emb = np.asarray(table.column("item_emb_d128").combine_chunks().flatten()).reshape(n, 128)
    tags = np.asarray(table.column("item_tags").combine_chunks().flatten()).reshape(n, 5)
    assert not emb[0].any() and not tags[0].any()
    assert np.abs(emb[1:]).sum(axis=1).min() > 0


def test_item_side_files_cover_items_1_to_n(tiny_root):
    n = synth.SCALES["tiny"].n_items
    for spec in (schema.ITEM_FEATURE, schema.ITEM_EMB):
        ids = pq.read_table(tiny_root / spec.path, columns=["item_id"]).column("item_id").to_pylist()
        assert ids == list(range(1, n + 1))
    titles = pq.read_table(tiny_root / schema.ITEM_FEATURE.path, columns=["item_title"]).column(0).to_pylist()
    assert all(t and t[0].isupper() for t in titles)
    covers = sorted((tiny_root / schema.IMAGE_DIR).iterdir())
    assert len(covers) == n
    with Image.open(tiny_root / schema.IMAGE_DIR / "1.jpg") as img:
        assert img.format == "JPEG" and img.mode == "RGB"


def test_test_split_has_ids_and_no_label(tiny_root):
    table = pq.read_table(tiny_root / schema.TEST.path)
    assert "label" not in table.column_names
    assert table.column("ID").to_pylist() == list(range(table.num_rows))


def test_item_seq_file_holds_every_user(tiny_root):
    table = pq.read_table(tiny_root / schema.ITEM_SEQ.path)
    assert table.num_rows == synth.SCALES["tiny"].n_users
    assert pc.min(pc.list_value_length(table.column("item_seq"))).as_py() >= 1


# ---------------------------------------------------------------- reader round trip


def test_round_trip_shapes_and_dtypes(tiny):
    sc = synth.SCALES["tiny"]
    assert (len(tiny.train), len(tiny.valid), len(tiny.test)) == (sc.n_train, sc.n_valid, sc.n_test)
    for split in (tiny.train, tiny.valid, tiny.test):
        assert split.item_seq.shape == (len(split), SEQ_LEN)
        assert split.item_seq.dtype == split.item_id.dtype == split.user_id.dtype == np.int32
        assert split.likes_level.dtype == split.views_level.dtype == np.int8
    assert tiny.train.label.dtype == np.float32 and tiny.test.label is None
    assert tiny.test.ids.tolist() == list(range(sc.n_test))
    assert tiny.items.n_items == sc.n_items + 1
    assert tiny.items.item_tags.shape == (sc.n_items + 1, 5) and tiny.items.item_tags.dtype == np.int32
    assert tiny.items.titles[0] == "" and all(tiny.items.titles[1:])
    assert tiny.n_tags == sc.n_tags and tiny.n_users <= sc.n_users + 1
    assert tiny.oracle_auc is not None


def test_histories_are_left_padded(tiny):
    present = tiny.train.item_seq > 0
    assert present[:, -1].all()  # every row has a history
    assert (present[:, 1:] >= present[:, :-1]).all()  # once items start, no more padding


def test_row_levels_are_the_target_items_levels(tiny):
    t = tiny.train
    assert np.array_equal(t.likes_level, tiny.items.likes_level[t.item_id])
    assert np.array_equal(t.views_level, tiny.items.views_level[t.item_id])


@pytest.mark.parametrize("file,column", sorted(schema.SHIPPED_EMBEDDINGS))
def test_shipped_embeddings_load_id_aligned(tiny, file, column):
    emb = tiny.items.load_shipped(file, column)
    assert emb.shape == (tiny.items.n_items, schema.SHIPPED_EMBEDDINGS[(file, column)])
    assert emb.dtype == np.float32 and not emb[0].any() and np.abs(emb[1:]).sum(axis=1).min() > 0


# ---------------------------------------------------------------- generator properties


def test_same_seed_same_data_other_seed_other_data(tiny_root, tiny, tmp_path):
    again = tmp_path / "again"
    synth.generate(again, "tiny", seed=0)
    for spec in schema.ALL_FILES:
        assert pq.read_table(again / spec.path).equals(pq.read_table(tiny_root / spec.path)), spec.path
    assert (again / schema.ORACLE_FILE).read_text() == (tiny_root / schema.ORACLE_FILE).read_text()
    assert (again / "item_images" / "7.jpg").read_bytes() == (tiny_root / "item_images" / "7.jpg").read_bytes()
    synth.generate(tmp_path / "other", "tiny", seed=1)
    other = load_mmctr(tmp_path / "other", "other")
    assert not np.array_equal(other.train.item_seq, tiny.train.item_seq)


def test_oracle_and_positive_rate(tiny_root, tiny):
    facts = json.loads((tiny_root / schema.ORACLE_FILE).read_text())
    assert 0.6 < facts["valid_auc"] < 1.0 and facts["scale"] == "tiny" and facts["seed"] == 0
    assert tiny.oracle_auc == pytest.approx(facts["valid_auc"])
    assert abs(tiny.train.label.mean() - 0.25) < 0.02
    assert abs(tiny.valid.label.mean() - 0.25) < 0.05
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75


def _item_truth(root: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(root / synth.TRUTH_DIR / "items.parquet")
    return {name: np.concatenate([[-1 if name == "topic" else 0], table.column(name).to_numpy()])
            for name in ("topic", "appeal", "quality")}


def test_history_carries_the_click_signal(tiny_root, tiny):
    """Share of history items on the target's topic: a score any sequence model can learn."""
    topic = _item_truth(tiny_root)["topic"]
    v = tiny.valid
    share = (topic[v.item_seq] == topic[v.item_id][:, None]).sum(1) / (v.item_seq > 0).sum(1)
    assert auc(v.label, share) > 0.7


def test_tags_reveal_the_topic(tiny_root, tiny):
    """An observable version of the same score, from tags only: history items sharing a tag."""
    tags = tiny.items.item_tags
    v = tiny.valid
    target_tags = tags[v.item_id]  # (n, 5)
    hist_tags = tags[v.item_seq]  # (n, 64, 5)
    shared = ((hist_tags[:, :, :, None] == target_tags[:, None, None, :]) & (target_tags[:, None, None, :] > 0))
    score = shared.any(axis=(2, 3)).sum(1) / (v.item_seq > 0).sum(1)
    assert auc(v.label, score) > 0.65


def test_covers_carry_appeal_that_titles_do_not(tiny_root, tiny):
    appeal = _item_truth(tiny_root)["appeal"][1:41]
    brightness = [np.asarray(Image.open(tiny.items.image_path(i)).convert("HSV"))[..., 2].mean() for i in range(1, 41)]
    assert np.corrcoef(appeal, brightness)[0, 1] > 0.6


# ---------------------------------------------------------------- atomic writes and the CLI helper


def test_generate_refuses_to_overwrite_and_leaves_nothing_half_written(tiny_root, tmp_path, monkeypatch):
    with pytest.raises(DataError, match="already exists"):
        synth.generate(tiny_root, "tiny")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth_layout, "write_item_seq", boom)
    with pytest.raises(RuntimeError):
        synth.generate(tmp_path / "broken", "tiny")
    assert list(tmp_path.iterdir()) == []


def test_main_synth_prints_a_summary(tmp_path, capsys):
    from mmbench_plugins.datasets.synth.worlds import main_synth

    facts = main_synth(tmp_path / "out", "tiny", 3, world=1)
    out = capsys.readouterr().out
    assert "oracle valid AUC" in out and "5,000" in out and facts["seed"] == 3


# ---------------------------------------------------------------- validation errors


def _rewrite(path: Path, change) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def _set(table: pa.Table, name: str, array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


def _expect(root: Path, *fragments: str) -> None:
    with pytest.raises(DataError) as info:
        load_mmctr(root, "broken")
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_root_points_to_the_download_page(tmp_path):
    _expect(tmp_path / "nowhere", "nowhere", schema.DOWNLOAD_PAGE, "MicroLens_1M_x1/")


def test_missing_file(copy_root):
    (copy_root / schema.TRAIN.path).unlink()
    _expect(copy_root, "train.parquet", "is missing", "item_seq")


def test_missing_column(copy_root):
    _rewrite(copy_root / schema.VALID.path, lambda t: t.drop_columns(["likes_level"]))
    _expect(copy_root, "valid.parquet", "'likes_level'", "is missing")


def test_wrong_item_seq_length(copy_root):
    def shorten(t):
        flat = t.column("item_seq").combine_chunks().flatten()
        short = np.asarray(flat).reshape(-1, SEQ_LEN)[:, -32:].reshape(-1)
        return _set(t, "item_seq", pa.FixedSizeListArray.from_arrays(pa.array(short), 32))

    _rewrite(copy_root / schema.TRAIN.path, shorten)
    _expect(copy_root, "train.parquet", "'item_seq'", "length 32", "64")


def test_variable_length_item_seq_is_checked(copy_root):
    def as_variable(t):
        seq = t.column("item_seq").combine_chunks()
        lists = pa.ListArray.from_arrays(pa.array(np.arange(len(seq) + 1, dtype=np.int32) * SEQ_LEN), seq.flatten())
        offsets = np.asarray(lists.offsets).copy()
        offsets[-1] -= 1  # last row one short
        return _set(t, "item_seq", pa.ListArray.from_arrays(pa.array(offsets), seq.flatten()[:-1]))

    _rewrite(copy_root / schema.VALID.path, as_variable)
    _expect(copy_root, "valid.parquet", "'item_seq'", "length 63")


def test_label_not_binary(copy_root):
    _rewrite(copy_root / schema.TRAIN.path, lambda t: _set(t, "label", pc.add(t.column("label"), 1)))
    _expect(copy_root, "train.parquet", "'label'", "0 or 1")


def test_item_id_out_of_range(copy_root, tiny):
    n = tiny.items.n_items
    _rewrite(copy_root / schema.TEST.path,
             lambda t: _set(t, "item_id", pa.array(np.full(t.num_rows, n, dtype=np.int64))))
    _expect(copy_root, "test.parquet", "'item_id'", str(n))


def test_level_out_of_range(copy_root):
    _rewrite(copy_root / schema.ITEM_FEATURE.path,
             lambda t: _set(t, "views_level", pa.array(np.full(t.num_rows, 11, dtype=np.int64))))
    _expect(copy_root, "item_feature.parquet", "'views_level'", "11")


def test_wrong_dtype(copy_root):
    _rewrite(copy_root / schema.TRAIN.path, lambda t: _set(t, "user_id", pc.cast(t.column("user_id"), pa.string())))
    _expect(copy_root, "train.parquet", "'user_id'", "string")


def test_test_ids_must_be_0_to_n_minus_1(copy_root):
    _rewrite(copy_root / schema.TEST.path,
             lambda t: _set(t, "ID", pa.array(np.zeros(t.num_rows, dtype=np.int64))))
    _expect(copy_root, "test.parquet", "'ID'")


# ---------------------------------------------------------------- dataset plugins


def test_real_dataset_without_data_root_says_what_to_set(tmp_path):
    from mmbench_plugins.datasets.microlens import MicroLens1M

    with pytest.raises(DataError, match=r"dataset\.data_root"):
        MicroLens1M(MicroLens1M.Params()).load(SimpleNamespace(home=tmp_path))


def test_real_dataset_reads_a_data_root(tiny_root, tmp_path):
    from mmbench_plugins.datasets.microlens import MicroLens1M

    data = MicroLens1M(MicroLens1M.Params(data_root=str(tiny_root))).load(SimpleNamespace(home=tmp_path))
    assert data.dataset_id == "microlens_1m" and len(data.train) == synth.SCALES["tiny"].n_train


@pytest.mark.parametrize("world, dataset_id", [(1, "microlens_1m_synth-tiny-s2"), (2, "microlens_1m_synth-w2-tiny-s2"),
                                               (3, "microlens_1m_synth-w3-tiny-s2")])
def test_synth_dataset_is_generated_once_under_home(tmp_path, world, dataset_id):
    from mmbench_plugins.datasets.microlens import MicroLens1MSynth

    ctx = RunContext(home=tmp_path)
    params = MicroLens1MSynth.Params(scale="tiny", seed=2, world=world)
    data = MicroLens1MSynth(params).load(ctx)
    root = tmp_path / "data" / dataset_id
    assert data.root == root and data.dataset_id == dataset_id
    assert json.loads((root / "oracle.json").read_text()).get("world", 1) == world
    stamp = (root / schema.TRAIN.path).stat().st_mtime_ns
    MicroLens1MSynth(params).load(ctx)
    assert (root / schema.TRAIN.path).stat().st_mtime_ns == stamp


def test_synth_dataset_is_world_2_by_default_and_refuses_a_folder_of_the_other_world(tiny_root, tmp_path):
    from mmbench_plugins.datasets.microlens import MicroLens1MSynth

    assert MicroLens1MSynth.Params().world == 2
    with pytest.raises(DataError, match=r"holds synthetic world 1, not world 2: set dataset.world=1"):
        MicroLens1MSynth(MicroLens1MSynth.Params(scale="tiny", data_root=str(tiny_root))).load(
            SimpleNamespace(home=tmp_path))


def test_datasets_are_registered_through_the_entry_point():
    from mmbench.contract.registry import build_registry

    assert {"microlens_1m", "microlens_1m_synth"} <= set(build_registry().names("dataset"))


def test_mmbench_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MMBENCH_HOME", str(tmp_path))
    assert mmbench_home() == tmp_path
    monkeypatch.delenv("MMBENCH_HOME")
    assert mmbench_home() == Path("~/.cache/mmbench").expanduser()


def test_rows_of_ids_reads_a_truth_table_in_a_splits_order():
    import numpy as np

    from mmbench.data.truth import rows_of_ids

    known = np.array([30, 10, 20])
    assert rows_of_ids(known, np.array([20, 30, 10, 20])).tolist() == [2, 0, 1, 2]
    assert rows_of_ids(known, np.array([10, 40])) is None  # an id the table does not have
    assert rows_of_ids(np.array([], dtype=np.int64), np.array([1])) is None


def test_a_synthetic_root_loads_with_its_test_labels_and_the_real_layout_without(tiny_root, tmp_path):
    """MMCTRData carries the test labels a root knows (mmbench/data/truth.py); a root without the truth
    tables, or whose table does not cover its test IDs, loads without them instead of failing."""
    import shutil

    from mmbench.data import truth
    from mmbench.data.reader import load_mmctr

    data = load_mmctr(tiny_root, "t")
    table = pq.read_table(tiny_root / truth.TRUTH_DIR / "test.parquet", columns=["ID", "label"])
    by_id = dict(zip(table.column("ID").to_pylist(), table.column("label").to_pylist()))
    assert data.test_labels.dtype == np.int8 and len(data.test_labels) == len(data.test)
    assert data.test_labels.tolist() == [by_id[i] for i in data.test.ids.tolist()]
    bare = tmp_path / "bare"
    shutil.copytree(tiny_root, bare, ignore=shutil.ignore_patterns(truth.TRUTH_DIR))
    assert load_mmctr(bare, "t").test_labels is None
    other = tmp_path / "other"
    shutil.copytree(tiny_root, other)
    pq.write_table(table.slice(0, 10), other / truth.TRUTH_DIR / "test.parquet")
    assert load_mmctr(other, "t").test_labels is None
    with pytest.raises(DataError, match="do not cover the test split"):
        truth.read_test_truth(other, data.test.ids, ("label",))


def test_data_synth_writes_through_the_dataset_that_generates(tmp_path, capsys):
    """`mmbench data synth` asks the registry for the dataset that declares ``generates`` (the core names
    none) and calls its ``generate``; a dataset that does not generate is refused in one line."""
    from mmbench.cli import main
    from mmbench.contract.registry import default_registry

    assert default_registry().generating_dataset() == "microlens_1m_synth"
    assert main(["data", "synth", "--out", str(tmp_path / "w1"), "--scale", "tiny", "--world", "1"]) == 0
    assert "world 1 (tiny, seed 0)" in capsys.readouterr().out
    assert (tmp_path / "w1" / schema.TRAIN.path).is_file()
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--scale", "tiny", "--dataset", "microlens_1m"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a dataset that generates data" in err and "microlens_1m_synth" in err
    assert not (tmp_path / "x" / schema.TRAIN.path).exists()
