"""Task 1 end to end on tiny synthetic data: `mmbench task1 CONFIG` writes the 128-d item_emb_d128 into a
linked copy of the data, trains the fixed baseline DIN on it, records a row on its own leaderboard, and
`mmbench predict RUN --task 1` writes the Task-1 submission; any change but the allowed knobs is refused."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from mmbench.run import config as config_mod
from mmbench.run import pipeline
from mmbench.challenge import task1
from mmbench.cli import main
from mmbench.contract.components import RunContext
from mmbench.data import mmbench_home, schema
from mmbench_plugins.datasets.synth import worlds as synth_worlds
from mmbench.leaderboard import store
from mmbench.run.metrics import auc
from mmbench.contract.registry import default_registry
from mmbench_zoo.din.model import DIN

ROOT = Path(__file__).resolve().parents[1]
WORLD = 2  # main's default synthetic world, pinned
DATASET = synth_worlds.dataset_id(WORLD, "tiny", 0)
TRAIN_ROWS = 2_000  # of tiny's 5,000: the fixed DIN (2M parameters, attention over 64 positions) is slow on CPU
#: the tiny synthetic data (world 2, seed 0), the baseline's own embedding (no encoder weights to load),
#: and two of the allowed knobs (batch and lr: 16 steps per epoch instead of one)
CONFIG = {
    "dataset": {"name": "microlens_1m_synth", "scale": "tiny", "seed": 0, "world": WORLD},
    "encoder": {"name": "precomputed", "columns": ["txt_emb_BERT", "img_emb_CLIPRN50"]},
    "reducer": {"name": "pca", "dim": 128},
    "train": {"batch_size": 128, "lr": 0.003, "device": "cpu"},
}
#: The baseline trains up to 100 epochs with patience 3 (on this data: 10-30 epochs, minutes of CPU). The
#: end-to-end tests cut the budget to 3 epochs in the model's own defaults, where the route reads them;
#: test_the_allowed_knobs_pass_and_the_rest_is_the_published_din checks the real defaults.
TEST_EPOCHS = 3


def short_budget(mp) -> None:
    mp.setattr(DIN, "TRAIN_DEFAULTS", {**DIN.TRAIN_DEFAULTS, "epochs": TEST_EPOCHS})


def tiny_with_fewer_train_rows(home: Path) -> Path:
    """Synthetic tiny whose train.parquet keeps its first TRAIN_ROWS rows (whole users: 4 rows each); the
    rest is linked."""
    full = home / "data" / "full-tiny"
    synth_worlds.generate(WORLD, full, "tiny", 0)
    root = home / "data" / DATASET
    root.mkdir(parents=True)
    task1.link_data_root(full, root, Path(schema.TRAIN.path))
    pq.write_table(pq.read_table(full / schema.TRAIN.path).slice(0, TRAIN_ROWS), root / schema.TRAIN.path)
    return root


@pytest.fixture(scope="module")
def task1_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("task1_home")
    board = tmp_path_factory.mktemp("task1_board")
    tiny_with_fewer_train_rows(home)  # where the synth dataset looks for tiny-s0: used as it is
    cfg = home / "task1.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMBENCH_HOME", str(home))
        short_budget(mp)
        assert main(["task1", str(cfg), "--leaderboard-dir", str(board)]) == 0
    (row,) = store.read_rows(store.csv_path(board, DATASET + "-task1"))
    return {"home": home, "board": board, "config": cfg, "row": row}


@pytest.fixture
def home(task1_run, monkeypatch):
    monkeypatch.setenv("MMBENCH_HOME", str(task1_run["home"]))
    short_budget(monkeypatch)
    return task1_run["home"]


def test_the_row_is_the_fixed_din_on_its_own_leaderboard(task1_run):
    row, board = task1_run["row"], task1_run["board"]
    assert (row["dataset"], row["encoder"], row["reducer"], row["model"], row["status"]) == (
        DATASET + "-task1", "precomputed", "pca", "din", "ok")
    assert sorted(p.name for p in board.glob("*.csv")) == [DATASET + "-task1.csv"]  # no Task-2 board touched
    assert 0.58 < float(row["valid_auc"]) < float(row["oracle_auc"]) <= 1.0  # learns the planted signal
    assert int(row["epochs"]) == TEST_EPOCHS
    config = json.loads(row["config"])
    assert config["task"] == 1
    din = default_registry().configure("model", "din", {}, "test")
    assert config["model"] == din.as_dict()  # every DIN parameter at the published default
    train = {**din.component.train_defaults, "epochs": TEST_EPOCHS, **CONFIG["train"]}
    assert {k: config["train"][k] for k in train} == train  # 100 epochs, patience 3, the baseline's seed ...
    md = (board / f"{DATASET}-task1.md").read_text()
    published = md[md.index("## Published results"):]
    assert "Official challenge baseline" in published and "1st place" not in published  # Task-2 numbers stay off


def test_the_embedding_is_written_into_a_linked_copy_of_the_data(task1_run, home):
    registry = default_registry()
    resolved = task1.resolve(config_mod.from_dict({**CONFIG, "model": {"name": "din"}}), registry)
    ctx = RunContext(home=home)
    data = pipeline.load_data(resolved.dataset, ctx)
    vectors = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx).table
    root = task1.data_root_for(data, vectors, home)
    table = pq.read_table(root / schema.ITEM_INFO.path)
    assert table.schema.equals(schema.ITEM_INFO.arrow_schema())
    emb = np.asarray(table.column("item_emb_d128").to_pylist())
    assert emb.shape == (data.items.n_items, 128) and not emb[0].any()
    np.testing.assert_array_equal(emb.astype(np.float32), vectors)  # exactly the reduction, row 0 zero
    source = pq.read_table(data.root / schema.ITEM_INFO.path)
    assert table.column("item_tags").equals(source.column("item_tags"))
    for spec in (schema.TRAIN, schema.VALID, schema.TEST, schema.ITEM_FEATURE, schema.ITEM_EMB):
        linked = root / spec.path
        assert linked.is_symlink() and linked.resolve() == (data.root / spec.path).resolve(), spec.path
    assert (root / schema.IMAGE_DIR).is_symlink() and not (root / schema.ITEM_INFO.path).is_symlink()
    assert (data.root / schema.ITEM_INFO.path).stat().st_size != (root / schema.ITEM_INFO.path).stat().st_size
    assert main(["cache", "list", "--dataset", DATASET]) == 0  # the vectors and their reduction, by dataset


def test_predict_task1_writes_the_task1_submission(task1_run, home, tmp_path, capsys):
    run = task1_run["row"]["config_hash"]
    out = tmp_path / "submission"
    assert main(["predict", run[:6], "--task", "1", "--out", str(out)]) == 0
    lines = (out / "prediction.csv").read_text().splitlines()
    n_test = pq.read_metadata(home / "data" / DATASET / schema.TEST.path).num_rows
    assert lines[0] == "ID,Task1" and len(lines) == 1 + n_test
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(n_test))
    with zipfile.ZipFile(out / "prediction.zip") as zf:
        assert zf.namelist() == ["prediction.csv"] and zf.read("prediction.csv").decode().startswith("ID,Task1\n")
    # the Task-1 config file (no model section) finds the same run; the run's own task is the default
    assert main(["predict", str(task1_run["config"]), "--split", "valid", "--out", str(tmp_path / "v")]) == 0
    assert (tmp_path / "v" / "prediction.csv").read_text().startswith("ID,Task1\n")
    valid = np.loadtxt(tmp_path / "v" / "prediction.csv", delimiter=",", skiprows=1)
    labels = pq.read_table(home / "data" / DATASET / schema.VALID.path, columns=["label"]).column(0).to_numpy()
    # rebuilt from the written embedding, the model scores valid exactly as in training
    assert auc(labels, valid[:, 1]) == pytest.approx(float(task1_run["row"]["valid_auc"]), abs=1e-4)
    assert main(["predict", run, "--task", "2", "--out", str(tmp_path / "t2")]) == 0  # the fixed DIN may enter Task 2
    assert (tmp_path / "t2" / "prediction.csv").read_text().startswith("ID,Task2\n")


def test_a_replaced_task1_embedding_is_not_predicted_from(task1_run, home, tmp_path, capsys):
    """The Task-1 folder is named by its vectors' hash: an item_info.parquet of the same shape put in its
    place (rows shuffled) is noted and written again, and predictions are those of the trained config."""
    run = task1_run["row"]["config_hash"]
    assert main(["predict", run, "--split", "valid", "--out", str(tmp_path / "before")]) == 0
    (info,) = (home / "task1").glob(f"{DATASET}-*/{schema.ITEM_INFO.path}")
    table = pq.read_table(info)
    emb = table.column("item_emb_d128")
    shuffled = emb.take(np.r_[0, np.random.default_rng(0).permutation(np.arange(1, len(emb)))])
    pq.write_table(table.set_column(2, "item_emb_d128", shuffled), info)
    capsys.readouterr()
    assert main(["predict", run, "--split", "valid", "--out", str(tmp_path / "after")]) == 0
    err = capsys.readouterr().err
    assert f"note: {info} holds other vectors than the ones its folder is named for" in " ".join(err.split()), err
    assert (tmp_path / "after" / "prediction.csv").read_bytes() == (tmp_path / "before" / "prediction.csv").read_bytes()
    assert pq.read_table(info).column("item_emb_d128").equals(emb)  # the folder holds its vectors again


def test_predict_task1_refuses_a_task2_run(tmp_path, capsys):
    run_dir = mmbench_home() / "runs" / "0123456789ab"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"config_hash": "0123456789ab", "config": {"model": {"name": "dcn"}}}))
    assert main(["predict", "0123456789ab", "--task", "1", "--out", str(tmp_path / "sub")]) == 2
    err = capsys.readouterr().err
    assert "--task 1: run 0123456789ab was trained by `mmbench run`" in err and "mmbench task1 CONFIG.yaml" in err
    assert not (tmp_path / "sub").exists()


@pytest.mark.parametrize("override,named", [
    ("model.embedding_dim=128", "model.embedding_dim: Task 1 trains the fixed baseline DIN; only train.embedding_reg, "
                                "train.net_reg, model.net_dropout, train.lr, train.batch_size (and train.seed"),
    ("model.name=dcn", "model.name: Task 1 trains the challenge's fixed baseline DIN, not 'dcn'"),
    ("train.optimizer=sgd", "train.optimizer: Task 1 trains the fixed baseline DIN"),
    ("train.learning_rate=0.01", "train.learning_rate: Task 1 trains the fixed baseline DIN; write the challenge's "
                                 "learning_rate as train.lr"),
    ("reducer.dim=64", "reducer 'pca' gives 64-d vectors; Task 1's item_emb_d128 needs 128; use a reducer with dim "
                       "128: --set reducer.name=pca --set reducer.dim=128"),
    ("reducer.name=learned", "reducer 'learned' is trained with a CTR model"),
])
def test_any_change_but_the_allowed_knobs_is_one_line_naming_the_key(override, named, tmp_path, capsys):
    cfg = tmp_path / "task1.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    board = tmp_path / "board"
    assert main(["task1", str(cfg), "--set", override, "--leaderboard-dir", str(board)]) == 2
    err = capsys.readouterr().err.strip()
    assert named in " ".join(err.split()) and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not board.exists()


def test_the_allowed_knobs_pass_and_the_rest_is_the_published_din():
    registry = default_registry()
    knobs = {"model": {"net_dropout": 0.2},
             "train": {"lr": 0.01, "batch_size": 256, "embedding_reg": 1e-7, "net_reg": 1e-6, "seed": 3, "threads": 1}}
    resolved = task1.resolve(task1.config_from_dict({**CONFIG, **knobs}, "test"), registry)
    assert resolved.model.params.net_dropout == 0.2 and resolved.train.embedding_reg == 1e-7
    plain = task1.resolve(task1.config_from_dict(CONFIG, "test"), registry)
    published = yaml.safe_load((ROOT / "model_zoo" / "din" / "config.yaml").read_text())["train"]
    assert published["epochs"] == 100 and published["patience"] == 3 and published["batch_size"] == 8192
    given = CONFIG["train"]
    assert {k: getattr(plain.train, k) for k in published if k not in given} == {
        k: v for k, v in published.items() if k not in given}
    assert plain.model.as_dict() == registry.configure("model", "din", {}, "test").as_dict()
    task2 = pipeline.resolve(config_mod.from_dict({**CONFIG, "model": {"name": "din"}}), registry)
    assert len({resolved.config_hash(), plain.config_hash(), task2.config_hash()}) == 3  # Task 1 never shares a hash
    assert task1.resolve_stored(plain.as_dict(), "run.json", registry).config_hash() == plain.config_hash()
