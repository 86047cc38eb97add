import numpy as np
import pytest

from mmbench import config, leaderboard, pipeline
from mmbench.errors import ConfigError, PluginError
from mmbench.leaderboard import COLUMNS


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
    outcome = pipeline.run(resolved, pipeline.RunContext(home=tmp_path))
    row = outcome.row
    assert row["valid_auc"] > 0.75  # the fake data's labels follow the history's topic
    assert set(COLUMNS) <= set(row)
    assert (row["encoder"], row["reducer"], row["model"], row["seed"]) == ("shipped_fake", "pca", "attention_dnn", 7)
    assert 1 <= row["best_epoch"] <= row["epochs"] <= 4
    path = leaderboard.append_row(tmp_path / "lb", row)
    rows = leaderboard.read_rows(path)
    assert list(rows[0]) == COLUMNS and len(rows) == 1
    assert float(rows[0]["valid_auc"]) == pytest.approx(row["valid_auc"], abs=1e-6)
    assert "shipped_fake" in path.with_suffix(".md").read_text()


def test_same_seed_same_auc(fake_registry, tmp_path):
    resolved = pipeline.resolve(cfg(train={"epochs": 1, "batch_size": 512, "seed": 3}), fake_registry)
    a = pipeline.run(resolved, pipeline.RunContext(home=tmp_path / "a")).row["valid_auc"]
    b = pipeline.run(resolved, pipeline.RunContext(home=tmp_path / "b")).row["valid_auc"]
    assert a == b


def test_encoding_is_cached(fake_registry, tmp_path, monkeypatch):
    resolved = pipeline.resolve(cfg(), fake_registry)
    ctx = pipeline.RunContext(home=tmp_path)
    data = pipeline.load_data(resolved, ctx)
    first, hit1, _, _ = pipeline.encode_items(resolved, data, ctx)
    calls = []
    monkeypatch.setattr(resolved.encoder[0].factory, "encode", lambda self, items, ctx: calls.append(1))
    second, hit2, _, _ = pipeline.encode_items(resolved, data, ctx)
    assert (hit1, hit2, calls) == (False, True, [])
    np.testing.assert_array_equal(first, second)


def test_padding_row_zero_after_pca(fake_registry, tmp_path):
    resolved = pipeline.resolve(cfg(), fake_registry)
    ctx = pipeline.RunContext(home=tmp_path)
    data = pipeline.load_data(resolved, ctx)
    vecs, _, _, inputs = pipeline.encode_items(resolved, data, ctx)
    table = pipeline.reduce_vectors(resolved, vecs, inputs, ctx).table.numpy()
    assert table.shape == (data.items.n_items, 4)
    assert not table[0].any() and table[1:].any()


def test_config_hash_depends_on_every_section(fake_registry):
    base = pipeline.resolve(cfg(), fake_registry).config_hash()
    assert base == pipeline.resolve(cfg(), fake_registry).config_hash()
    assert base != pipeline.resolve(cfg(train={"epochs": 3, "batch_size": 256, "seed": 8}), fake_registry).config_hash()
    assert base != pipeline.resolve(cfg(reducer={"name": "pca", "dim": 3}), fake_registry).config_hash()


def test_model_defaults_come_from_its_folder(fake_registry):
    resolved = pipeline.resolve(cfg(model={"name": "attention_dnn"}, train={}), fake_registry)
    assert resolved.model[1].num_heads == 4  # model_zoo/attention_dnn/config.yaml
    assert resolved.train.batch_size == 1024


def test_bad_model_key_names_file_and_key(fake_registry):
    with pytest.raises(ConfigError, match=r"test.yaml: model \(attention_dnn\): unknown key 'embeding_dim' \(did you mean 'embedding_dim'\?\)"):
        pipeline.resolve(cfg(model={"name": "attention_dnn", "embeding_dim": 8}), fake_registry)


def test_encoder_with_wrong_shape_is_reported(fake_registry, tmp_path, monkeypatch):
    resolved = pipeline.resolve(cfg(), fake_registry)
    monkeypatch.setattr(resolved.encoder[0].factory, "encode", lambda self, items, ctx: np.zeros((3, 2), np.float32))
    ctx = pipeline.RunContext(home=tmp_path)
    with pytest.raises(PluginError, match=r"encoder 'shipped_fake' returned \(3, 2\); expected a float32 array of shape \(200, d\)"):
        pipeline.encode_items(resolved, pipeline.load_data(resolved, ctx), ctx)
