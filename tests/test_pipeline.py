import numpy as np
import pytest

import mmbench
from mmbench.run import config, pipeline, trainer
from mmbench.run.callbacks import PluginHooks
from mmbench.contract.components import Encoded, RunContext
from mmbench.errors import ConfigError, PluginError
from mmbench.leaderboard import store
from mmbench.leaderboard.render import render
from mmbench.run.row import COLUMNS, Row


def cfg(**sections):
    raw = {
        "dataset": {"name": "fake"},
        "encoder": {"name": "shipped_fake"},
        "reducer": {"name": "pca", "dim": 4},
        "model": {"name": "attention_dnn", "embedding_dim": 8, "dnn_hidden": [32, 16]},
        "train": {"epochs": 4, "batch_size": 256, "patience": 2, "seed": 7, "lr": 0.003},
    }
    raw.update(sections)
    return config.from_dict(raw, "test.yaml")


def test_run_learns_planted_signal_and_row_schema(fake_registry, tmp_path):
    resolved = pipeline.resolve(cfg(), fake_registry)
    result = pipeline.run(resolved, RunContext(home=tmp_path))
    row = result.row
    assert row.valid_auc > 0.75  # the fake data's labels follow the history's topic
    assert list(row.as_dict()) == COLUMNS
    assert (row.encoder, row.reducer, row.model, row.seed, row.status) == ("shipped_fake", "pca", "attention_dnn", 7, "ok")
    assert 1 <= row.best_epoch <= row.epochs <= 4
    path = store.append_row(tmp_path / "lb", row, result.valid)
    rows = store.read_rows(path)
    assert list(rows[0]) == COLUMNS and len(rows) == 1
    assert float(rows[0]["valid_auc"]) == pytest.approx(row.valid_auc, abs=1e-6)
    assert not path.with_suffix(".md").exists()  # the store writes the CSV only; rendering is the command's
    render(tmp_path / "lb", row.dataset)
    assert "shipped_fake" in path.with_suffix(".md").read_text()


def test_ok_and_failed_rows_have_the_same_columns(fake_registry):
    resolved = pipeline.resolve(cfg(), fake_registry)
    failed = Row.failed(resolved, "fake", "RuntimeError: boom\n" * 100)
    assert list(failed.as_dict()) == COLUMNS and failed.status == "failed" and failed.valid_auc == ""
    assert failed.config_hash == resolved.config_hash() and len(failed.error) <= 300


def test_same_seed_same_auc(fake_registry, tmp_path):
    resolved = pipeline.resolve(cfg(train={"epochs": 1, "batch_size": 512, "seed": 3}), fake_registry)
    a = pipeline.run(resolved, RunContext(home=tmp_path / "a")).row.valid_auc
    b = pipeline.run(resolved, RunContext(home=tmp_path / "b")).row.valid_auc
    assert a == b


def test_valid_is_predicted_once_per_epoch_and_kept_from_the_best(fake_registry, tmp_path, monkeypatch):
    calls = []
    real = trainer.predict
    monkeypatch.setattr(trainer, "predict", lambda *a, **k: calls.append(1) or real(*a, **k))
    resolved = pipeline.resolve(cfg(train={"epochs": 2, "batch_size": 512, "patience": 2}), fake_registry)
    result = pipeline.run(resolved, RunContext(home=tmp_path))
    assert len(calls) == result.result.epochs_run == 2
    from mmbench.run.metrics import auc

    assert auc(result.valid.labels, result.valid.probs) == pytest.approx(result.row.valid_auc, abs=1e-12)


def test_encoding_is_cached_with_its_stats(fake_registry, tmp_path, monkeypatch):
    shipped = fake_registry.get("encoder", "shipped_fake").factory
    monkeypatch.setattr(shipped, "encode", lambda self, items, ctx: Encoded(items.load_shipped("", ""), {"missing_titles": 3}))
    resolved = pipeline.resolve(cfg(), fake_registry)
    ctx = RunContext(home=tmp_path)
    data = pipeline.load_data(resolved.dataset, ctx)
    first = pipeline.encode_items(resolved, data, ctx)
    calls = []
    monkeypatch.setattr(shipped, "encode", lambda self, items, ctx: calls.append(1))
    second = pipeline.encode_items(resolved, data, ctx)
    assert (first.cache_hit, second.cache_hit, calls) == (False, True, [])
    np.testing.assert_array_equal(first.vectors, second.vectors)
    assert first.stats == second.stats == {"missing_titles": 3}  # the counts survive a cache hit


def test_padding_row_zero_after_pca(fake_registry, tmp_path):
    resolved = pipeline.resolve(cfg(), fake_registry)
    ctx = RunContext(home=tmp_path)
    data = pipeline.load_data(resolved.dataset, ctx)
    table = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx).table
    assert table.shape == (data.items.n_items, 4)
    assert not table[0].any() and table[1:].any()


def test_config_hash_depends_on_every_section(fake_registry):
    base = pipeline.resolve(cfg(), fake_registry).config_hash()
    assert base == pipeline.resolve(cfg(), fake_registry).config_hash()
    assert base != pipeline.resolve(cfg(train={"epochs": 3, "batch_size": 256, "seed": 8}), fake_registry).config_hash()
    assert base != pipeline.resolve(cfg(reducer={"name": "pca", "dim": 3}), fake_registry).config_hash()


def test_committed_world2_rows_keep_their_config_hash():
    """A run's hash is its identity on the board (a rerun joins its combination, a sweep skips what is
    recorded): options added to a component since must not change the hash of the committed rows, on
    every committed world-2 and world-3 board."""
    import csv
    import json
    from pathlib import Path

    from mmbench.contract.registry import default_registry

    boards = sorted((Path(__file__).resolve().parents[1] / "leaderboards").glob("microlens_1m_synth-w[23]-*.csv"))
    assert {b.name for b in boards} >= {"microlens_1m_synth-w2-small-s0.csv", "microlens_1m_synth-w2-full-s0.csv",
                                        "microlens_1m_synth-w3-full-s0.csv"}
    registry = default_registry()
    for board in boards:
        with board.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) >= (27 if "small" in board.name else 1)
        for row in rows:
            resolved = pipeline.resolve(config.from_dict(json.loads(row["config"]), board.name), registry)
            assert resolved.config_hash() == row["config_hash"], (board.name, row["model"])


def test_qin_puts_its_projection_under_the_embedding_l2_unless_a_config_says_net():
    """qin's config.yaml matches QIN_variety_v9 (FuxiCTR regularises the item_emb_d128 projection with
    the embeddings); a recorded row that ran with ``net`` says so and keeps its own hash."""
    from mmbench.contract.registry import default_registry

    registry = default_registry()
    qin = dict(dataset={"name": "microlens_1m_synth", "scale": "tiny"}, model={"name": "qin"},
               encoder={"name": "precomputed", "columns": ["item_emb_d128"]}, reducer={"name": "none"})
    default = pipeline.resolve(cfg(**qin, train={}), registry)
    assert default.train.projection_reg == "embedding" and default.train.embedding_reg == 2e-4
    assert default.as_dict()["train"]["projection_reg"] == "embedding"
    net = pipeline.resolve(cfg(**qin, train={"projection_reg": "net"}), registry)
    assert net.train.projection_reg == "net" and "projection_reg" not in net.as_dict()["train"]
    assert net.config_hash() != default.config_hash()
    # what a row and a checkpoint record says net (qin's default would otherwise fill in embedding)
    for run in (default, net):
        recorded = run.recorded_dict()
        assert recorded["train"]["projection_reg"] == run.train.projection_reg
        again = pipeline.resolve(config.from_dict(recorded, "row"), registry)
        assert again.train.projection_reg == run.train.projection_reg and again.config_hash() == run.config_hash()
    din = pipeline.resolve(cfg(**{**qin, "model": {"name": "din"}}, train={}), registry)
    assert din.train.projection_reg == "net"


def test_model_defaults_come_from_its_params_and_train_defaults_from_its_folder(fake_registry):
    resolved = pipeline.resolve(cfg(model={"name": "attention_dnn"}, train={}), fake_registry)
    assert resolved.model.params.num_heads == 4  # AttentionDNNParams
    assert resolved.train.batch_size == 1024 and resolved.train.grad_clip == 10.0  # attention_dnn/config.yaml


def test_bad_model_key_names_file_and_key(fake_registry):
    with pytest.raises(ConfigError, match=r"test.yaml: model \(attention_dnn\): unknown key 'embeding_dim' \(did you mean 'embedding_dim'\?\)"):
        pipeline.resolve(cfg(model={"name": "attention_dnn", "embeding_dim": 8}), fake_registry)


def test_encoder_with_wrong_shape_is_reported(fake_registry, tmp_path, monkeypatch):
    resolved = pipeline.resolve(cfg(), fake_registry)
    monkeypatch.setattr(resolved.encoder.component.factory, "encode", lambda self, items, ctx: np.zeros((3, 2), np.float32))
    ctx = RunContext(home=tmp_path)
    with pytest.raises(PluginError, match=r"encoder 'shipped_fake' returned \(3, 2\); expected a float32 array of shape \(200, d\)"):
        pipeline.encode_items(resolved, pipeline.load_data(resolved.dataset, ctx), ctx)


def test_create_is_the_one_way_to_build_and_wraps_plugin_errors(fake_registry):
    reducer = fake_registry.create("reducer", "pca", {"dim": 3})
    assert reducer.params.dim == 3
    with pytest.raises(ConfigError, match=r"reducer \(pca\)\.dim: expected int"):
        fake_registry.create("reducer", "pca", {"dim": "three"})
    spec_free = fake_registry.configure("model", "attention_dnn", {"num_heads": 2}, "m")
    with pytest.raises(PluginError, match=r"model 'attention_dnn' \(.*\) failed to build: "):
        spec_free.create(None)


class Tracker:
    """A plugin that only listens: what an experiment tracker (MLflow, ...) implements."""

    def __init__(self):
        self.events = []

    @mmbench.hookimpl
    def on_run_start(self, run):
        self.events.append(("start", run.config_hash()))

    @mmbench.hookimpl
    def on_epoch_end(self, run, log):
        self.events.append(("epoch", log.epoch, run.config_hash()))

    @mmbench.hookimpl
    def on_run_end(self, run, row, valid):
        self.events.append(("end", row.status, row.valid_auc, None if valid is None else len(valid.probs)))


def test_tracker_plugins_hear_the_run(tmp_path):
    import mmbench_zoo.attention_dnn as attention_dnn
    from fakes import registry_with_fakes

    tracker = Tracker()
    registry = registry_with_fakes(attention_dnn=attention_dnn, tracker=tracker)
    resolved = pipeline.resolve(cfg(train={"epochs": 2, "batch_size": 512, "patience": 2}), registry)
    result = pipeline.run(resolved, RunContext(home=tmp_path), PluginHooks(registry))
    h = resolved.config_hash()
    assert tracker.events == [("start", h), ("epoch", 1, h), ("epoch", 2, h),
                              ("end", "ok", result.row.valid_auc, 600)]


class LegacyTracker(Tracker):
    """A tracker plugin written before trackers were a component kind: it declares its name and logs
    from its own hooks."""

    @mmbench.hookimpl
    def tracker_names(self):
        return ["legacy"]


def test_a_tracker_plugin_of_the_hooks_era_still_tracks(tmp_path, monkeypatch):
    import mmbench_zoo.attention_dnn as attention_dnn
    from fakes import registry_with_fakes

    monkeypatch.delenv("MMBENCH_TRACK", raising=False)
    tracker = LegacyTracker()
    registry = registry_with_fakes(attention_dnn=attention_dnn, tracker=tracker)
    assert "legacy" in registry.tracker_names() and "legacy" not in registry.names("tracker")
    resolved = pipeline.resolve(cfg(train={"epochs": 1, "batch_size": 512, "track": "legacy"}), registry)
    pipeline.run(resolved, RunContext(home=tmp_path), PluginHooks(registry))
    assert [e[0] for e in tracker.events] == ["start", "epoch", "end"]


ZOO = {
    "attention_dnn": {"name": "attention_dnn", "embedding_dim": 8, "num_heads": 2, "dnn_hidden": [16]},
    "din": {"name": "din", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [16]},
    "dcn": {"name": "dcn", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [16]},
    "transformer_dcn": {"name": "transformer_dcn", "embedding_dim": 8, "vector_dim": 8, "dim_feedforward": 16,
                        "first_k": 4, "dnn_hidden": [16], "mlp_hidden": [8]},
    "qin": {"name": "qin", "embedding_dim": 8, "vector_dim": 8, "qnn_layers": 2, "num_row": 2},
}
#: training that suits a model better than the shared setting below: transformer_dcn's full-rank cross
#: layers diverge at lr 0.01 (its published lr is 5e-4)
ZOO_TRAIN = {"transformer_dcn": {"lr": 0.001, "batch_size": 128, "epochs": 3}}


@pytest.fixture(scope="module")
def zoo_registry():
    import mmbench_zoo.attention_dnn as attention_dnn
    import mmbench_zoo.dcn as dcn
    import mmbench_zoo.din as din
    import mmbench_zoo.qin as qin
    import mmbench_zoo.transformer_dcn as transformer_dcn
    from fakes import registry_with_fakes

    return registry_with_fakes(attention_dnn=attention_dnn, din=din, dcn=dcn, transformer_dcn=transformer_dcn, qin=qin)


@pytest.mark.parametrize("model", sorted(ZOO))
def test_every_zoo_model_embeds_a_reducers_codes(zoo_registry, tmp_path, model):
    """A reducer that hands out codes only (the planted topic): the models see the items through them."""
    resolved = pipeline.resolve(cfg(encoder={"name": "shipped_fake"}, reducer={"name": "topic_codes"},
                                    model=ZOO[model], train={"epochs": 2, "batch_size": 256, "lr": 0.01, "threads": 1,
                                                              **ZOO_TRAIN.get(model, {})}), zoo_registry)
    ctx = RunContext(home=tmp_path)
    data = pipeline.load_data(resolved.dataset, ctx)
    reduction = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx)
    assert reduction.table.shape == (200, 0) and reduction.code_vocab == (6, 2)
    assert reduction.codes.shape == (200, 2) and not reduction.codes[0].any()  # the padding item's code is 0
    again = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx)
    assert again.cache_hit and np.array_equal(again.codes, reduction.codes) and again.code_vocab == (6, 2)
    trained = pipeline.train_model(resolved, data, reduction)
    items = trained.model.items
    assert items.code_emb.num_embeddings == 8 and items.vec_proj is None
    assert trained.result.valid["auc"] > 0.6
    tensors = trainer.resident_tensors(data.valid, trainer.resolve_device("cpu"))
    before = trainer.predict(trained.model, tensors, 4096)
    items.features.codes.zero_()  # the same model without the codes' information
    assert np.abs(trainer.predict(trained.model, tensors, 4096) - before).mean() > 1e-3


def test_vectors_and_codes_together(zoo_registry, tmp_path):
    resolved = pipeline.resolve(cfg(reducer={"name": "vectors_and_codes"}, model=ZOO["din"],
                                    train={"epochs": 1, "batch_size": 256, "threads": 1}), zoo_registry)
    result = pipeline.run(resolved, RunContext(home=tmp_path))
    items = result.model.items
    assert items.vec_proj.in_features == 5 and items.code_emb is not None
    assert items.out_dim == 8 * 5  # id, tags, vector, levels, codes


def test_codes_out_of_their_vocabulary_are_refused(zoo_registry, tmp_path, monkeypatch):
    from fakes import TopicCodesReducer
    from mmbench.contract.components import Reduced

    monkeypatch.setattr(TopicCodesReducer, "apply",
                        lambda self, vecs: Reduced(codes=np.full((len(vecs), 1), 5), code_vocab=(5,)))
    resolved = pipeline.resolve(cfg(reducer={"name": "topic_codes"}, model=ZOO["din"]), zoo_registry)
    ctx = RunContext(home=tmp_path)
    data = pipeline.load_data(resolved.dataset, ctx)
    with pytest.raises(PluginError, match=r"reducer 'topic_codes' returned codes outside \[0, code_vocab\) = \(5,\)"):
        pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx)


def _with_labelled_test(data, root):
    """The fake data with a test split (its valid rows, shuffled IDs) whose labels sit in root/synth_truth."""
    import dataclasses

    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmbench.data.truth import TRUTH_DIR

    ids = np.random.default_rng(0).permutation(len(data.valid)).astype(np.int64)
    test = dataclasses.replace(data.valid, name="test", label=None, ids=ids)
    (root / TRUTH_DIR).mkdir(parents=True)
    truth = pa.table({"ID": ids[::-1].copy(), "label": data.valid.label[::-1].astype(np.int64)})  # any row order
    pq.write_table(truth, root / TRUTH_DIR / "test.parquet")
    from mmbench.data import truth as truth_tables

    return dataclasses.replace(data, root=root, test=test, test_labels=truth_tables.known_test_labels(root, ids))


def test_test_predictions_are_kept_in_the_splits_row_order_and_a_failure_costs_only_them(fake_registry, tmp_path):
    import dataclasses

    import torch
    from fakes import make_fake_data

    from mmbench.run.trainer import TrainResult

    data = _with_labelled_test(make_fake_data(n_train=64, n_valid=50), tmp_path)
    assert np.array_equal(data.test_labels, data.valid.label.astype(np.int8))  # read back in the split's ID order

    class Echo(torch.nn.Module):  # scores a row by its item id
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, batch):
            return self.w * batch["item_id"].float() / 100

    resolved = pipeline.resolve(cfg(), fake_registry)
    result = TrainResult(valid={}, best_epoch=1, epochs_run=1, train_seconds=0.0, samples_per_second=0.0, n_params=1,
                         valid_probs=np.zeros(50))
    trained = pipeline.Trained(Echo(), result, 0.0)
    saved = pipeline.saved_predictions(resolved, data, trained)
    want = 1 / (1 + np.exp(-data.valid.item_id.astype(np.float64) / 100))
    np.testing.assert_allclose(saved.test_probs, want, rtol=1e-5)
    assert np.array_equal(saved.test_labels, data.valid.label.astype(np.int8))

    class Broken(Echo):
        def forward(self, batch):
            raise RuntimeError("out of memory")

    with pytest.warns(Warning, match=r"could not be predicted \(RuntimeError: out of memory\)"):
        saved = pipeline.saved_predictions(resolved, data, dataclasses.replace(trained, model=Broken()))
    assert saved.test_probs is None and saved.test_labels is None and saved.probs is not None


def test_every_route_finishes_a_run_the_same_way(fake_registry, tmp_path, monkeypatch):
    """run, a sweep's run and a study's trial all end through ``pipeline.finish``: a trial keeps the test
    split's predictions as a run does (it used to keep the valid ones only), and a run that fails in
    training becomes a failed row on every route."""
    import dataclasses

    import optuna
    from fakes import make_fake_data

    from mmbench.contract.components import RunContext
    from mmbench.sweep.plan import PlannedRun
    from mmbench.sweep.stages import Prepared, train_planned
    from mmbench.tuning.objective import train_trial

    data = _with_labelled_test(make_fake_data(n_train=256, n_valid=50), tmp_path)
    resolved = pipeline.resolve(cfg(train={"epochs": 1, "batch_size": 128, "seed": 7}), fake_registry)
    ctx = RunContext(home=tmp_path / "home")
    encoding = pipeline.encode_items(resolved, data, ctx)
    prep = Prepared(pipeline.reduce_items(resolved, encoding, ctx), encoding)
    outcome = train_trial(resolved, data, prep, optuna.trial.FixedTrial({}), "auc")
    assert outcome.state == "complete" and outcome.row.status == "ok"
    assert len(outcome.valid.test_probs) == len(data.test)
    assert np.array_equal(outcome.valid.test_labels, data.test_labels)
    row, valid = train_planned(PlannedRun(resolved, resolved.config_hash()), data, prep)
    assert row.valid_auc == outcome.row.valid_auc and np.array_equal(valid.test_probs, outcome.valid.test_probs)

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(pipeline, "train_model", out_of_memory)
    finished = pipeline.finish(resolved, data, prep.reduction, encoding)
    assert finished.row.status == "failed" and "out of memory" in finished.row.error and finished.valid is None
    assert train_trial(resolved, data, prep, optuna.trial.FixedTrial({}), "auc").state == "failed"
    assert train_planned(PlannedRun(resolved, resolved.config_hash()), data, prep)[0].status == "failed"
