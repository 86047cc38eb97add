"""Bad inputs across config, data, plugins and runs: each ends in one clear line on stderr, a non-zero
exit code, no traceback and no leaderboard row. The CLI runs in-process (``cli.main``) against the
tiny synthetic data; plugins are discovered through fake dist-infos on sys.path, as if pip-installed.
"""
from __future__ import annotations

import csv
import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mmbench import cli
from mmbench.contract.registry import reset_default_registry
from plugin_dists import BROKEN_ON_IMPORT, NAN_MODEL, make_dist


@pytest.fixture
def site(example_site):
    """The example plugin's site folder; the error tests add broken distributions to it."""
    yield example_site
    for name in [m for m in sys.modules if m.startswith("errplug_")]:
        del sys.modules[name]


@pytest.fixture
def run_cli(capsys, site):
    def run(*args):
        reset_default_registry()
        capsys.readouterr()
        rc = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def write_config(tmp_path, tiny_root, **sections) -> str:
    raw = {
        "dataset": {"name": "microlens_1m_synth", "scale": "tiny", "world": 1, "data_root": str(tiny_root)},
        "encoder": {"name": "hashed_bow", "dim": 64},
        "reducer": {"name": "pca", "dim": 8},
        "model": {"name": "mean_pool_lr"},
        "train": {"epochs": 1, "device": "cpu"},
    }
    raw.update(sections)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def assert_one_line_failure(rc, err, expected, lb_dir=None):
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert expected in lines[0], lines[0]
    if lb_dir is not None:
        assert not list(lb_dir.glob("*.csv")), "a failed run wrote a leaderboard row"


# --- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("edit, expected", [
    (None, "does not exist"),
    ("dataset: [unclosed", "not valid YAML"),
    ({"trian": {}}, "unknown top-level key 'trian' (did you mean 'train'?)"),
    ({"model": {"name": "mean_pool_lrr"}}, "unknown model 'mean_pool_lrr' (did you mean 'mean_pool_lr'?)"),
    ({"model": {"name": "mean_pool_lr", "dims": 8}}, "model (mean_pool_lr): unknown key 'dims' (did you mean 'dim'?)"),
    ({"encoder": {"name": "hashed_bow", "dim": "big"}}, "encoder (hashed_bow).dim: expected int, got 'big'"),
    ({"train": {"epochs": 0}}, "train.epochs: must be between 1 and 100000, got 0"),
    ({"encoder": {"dim": 64}}, "section 'encoder' needs a 'name'"),
])
def test_bad_config(run_cli, tmp_path, tiny_root, edit, expected):
    path = tmp_path / "missing.yaml"
    if isinstance(edit, str):
        path.write_text(edit)
    elif isinstance(edit, dict):
        path = write_config(tmp_path, tiny_root, **edit)
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")


def test_bad_override(run_cli, tmp_path, tiny_root):
    path = write_config(tmp_path, tiny_root)
    rc, _, err = run_cli("run", path, "--set", "train.epochs", "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "expected KEY=VALUE", tmp_path / "lb")


# --- data -----------------------------------------------------------------------------------------


def _broken_copy(tiny_root, tmp_path, how):
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    valid = root / "MicroLens_1M_x1" / "valid.parquet"
    if how == "missing":
        valid.unlink()
    elif how == "garbage":
        valid.write_bytes(b"not a parquet file")
    elif how == "label":
        table = pq.read_table(valid)
        label = table.column("label").to_numpy().copy()
        label[3] = 2
        pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", pa.array(label)), valid)
    return root


@pytest.mark.parametrize("how, expected", [
    ("missing", "valid.parquet is missing"),
    ("garbage", "valid.parquet cannot be read as parquet"),
    ("label", "column 'label' has value 2; labels must be 0 or 1"),
    ("no_root", "does not exist"),
])
def test_bad_data(run_cli, tmp_path, tiny_root, how, expected):
    if how == "no_root":  # the real dataset (the synthetic one would generate itself there)
        dataset = {"name": "microlens_1m", "data_root": str(tmp_path / "nowhere")}
    else:
        dataset = {"name": "microlens_1m_synth", "scale": "tiny", "world": 1,
                   "data_root": str(_broken_copy(tiny_root, tmp_path, how))}
    path = write_config(tmp_path, tiny_root, dataset=dataset)
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")


# --- plugins --------------------------------------------------------------------------------------


def test_plugin_broken_on_import_is_named_and_others_still_run(run_cli, site, tmp_path, tiny_root):
    make_dist(site, "broken-plugin", {"broken": "errplug_broken"}, {"errplug_broken": BROKEN_ON_IMPORT})
    rc, out, err = run_cli("plugins")
    assert rc == 0 and "hashed_bow" in out and "attention_dnn" in out
    (line,) = err.strip().splitlines()
    assert "plugin 'broken' (broken-plugin) was skipped: RuntimeError: this plugin is broken on purpose" in line

    rc, out, err = run_cli("run", write_config(tmp_path, tiny_root), "--leaderboard-dir", tmp_path / "lb")
    assert rc == 0, err
    (line,) = err.strip().splitlines()
    assert "'broken' (broken-plugin)" in line and line.startswith("warning:")
    assert len(list((tmp_path / "lb").glob("*.csv"))) == 1

    rc, out, err = run_cli("plugins", "--check")
    assert rc == 1
    assert "plugin 'broken' (broken-plugin): BROKEN: RuntimeError: this plugin is broken on purpose" in out
    assert "plugin 'example' (mmbench-example-plugin 0.1.0): ok" not in out  # only broken ones get a line
    assert "4 of 5 plugins healthy" in out or "of" in out


def test_hook_with_wrong_signature_is_one_warning(run_cli, site):
    source = """
        import mmbench

        @mmbench.hookimpl
        def register_encoders(reg):
            pass
    """
    make_dist(site, "sig-plugin", {"sig": "errplug_sig"}, {"errplug_sig": source})
    rc, out, err = run_cli("plugins")
    assert rc == 0 and "hashed_bow" in out
    (line,) = err.strip().splitlines()
    assert "plugin 'sig' (sig-plugin) was skipped: PluginValidationError" in line and "{'reg'}" in line


def test_plugin_api_version_mismatch_is_reported(run_cli, site):
    make_dist(site, "future-plugin", {"future": "errplug_future"}, {"errplug_future": "MMBENCH_API_VERSION = 99\n"})
    rc, out, _ = run_cli("plugins", "--check")
    assert rc == 1
    assert "declares MMBENCH_API_VERSION = 99 but this mmbench speaks plugin API 2" in out
    rc, out, _ = run_cli("plugins")
    assert rc == 0


def test_unknown_component_mentions_the_broken_plugin(run_cli, site, tmp_path, tiny_root):
    make_dist(site, "broken-plugin", {"broken": "errplug_broken2"}, {"errplug_broken2": BROKEN_ON_IMPORT})
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, model={"name": "xdeepfm"}), "--leaderboard-dir", tmp_path / "lb")
    assert rc == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning:") and len(lines) == 2
    assert "unknown model 'xdeepfm'" in lines[1] and "Plugin 'broken' (broken-plugin) failed to load" in lines[1]


def test_nan_loss_stops_with_the_epoch(run_cli, site, tmp_path, tiny_root):
    make_dist(site, "nan-plugin", {"nan": "errplug_nan"}, {"errplug_nan": NAN_MODEL})
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, model={"name": "nan_model"}),
                         "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "training diverged: loss is nan at epoch 1", tmp_path / "lb")


def test_encoder_that_raises_is_named(run_cli, site, tmp_path, tiny_root):
    source = """
        import mmbench
        from mmbench.contract.components import Encoder

        class Bad(Encoder):
            def encode(self, items, ctx): return {}["title"]

        @mmbench.hookimpl
        def register_encoders(register):
            register("bad_encoder", Bad)
    """
    make_dist(site, "bad-encoder", {"bad": "errplug_bad"}, {"errplug_bad": source})
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, encoder={"name": "bad_encoder"}),
                         "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "encoder 'bad_encoder' (bad-encoder 0.1) failed to encode the items: KeyError: 'title'",
                            tmp_path / "lb")


# --- checkpoints and prediction ------------------------------------------------------------------


def test_predict_unknown_run_and_untrained_config(run_cli, tmp_path, tiny_root):
    rc, _, err = run_cli("predict", "abc123", "--out", tmp_path / "sub")
    assert_one_line_failure(rc, err, "'abc123' is neither a run folder, a config YAML nor the hash of a run")
    rc, _, err = run_cli("predict", "*", "--out", tmp_path / "sub")  # a prefix, not a glob
    assert_one_line_failure(rc, err, "'*' is neither a run folder")
    path = write_config(tmp_path, tiny_root)
    rc, _, err = run_cli("predict", path, "--out", tmp_path / "sub")
    assert_one_line_failure(rc, err, f"train it first with `mmbench run {path}`")
    assert not (tmp_path / "sub").exists()


def test_corrupt_cache_entry_is_recomputed(tmp_path, tiny_root, site):
    from mmbench.run import config, pipeline
    from mmbench.contract.components import RunContext
    from mmbench.contract.registry import default_registry

    resolved = pipeline.resolve(config.from_dict(yaml.safe_load(open(write_config(tmp_path, tiny_root)))), default_registry())
    ctx = RunContext(home=tmp_path / "home")
    data = pipeline.load_data(resolved.dataset, ctx)
    first = pipeline.encode_items(resolved, data, ctx)
    (entry,) = ctx.cache.entries()
    raw = bytearray((entry.path / "vectors.npy").read_bytes())
    raw[-5] ^= 0xFF  # one flipped byte in the data: same shape, wrong checksum
    (entry.path / "vectors.npy").write_bytes(bytes(raw))
    second = pipeline.encode_items(resolved, data, ctx)
    assert (first.cache_hit, second.cache_hit) == (False, False)
    np.testing.assert_array_equal(first.vectors, second.vectors)
    (entry.path / "meta.json").write_text("{ truncated")
    third = pipeline.encode_items(resolved, data, ctx)
    assert third.cache_hit is False
    np.testing.assert_array_equal(first.vectors, third.vectors)
    assert pipeline.encode_items(resolved, data, ctx).cache_hit is True


# --- issue 10: validation at the edges ------------------------------------------------------------


def assert_clean_run(rc, err, lb_dir):
    assert rc == 0, err
    assert "Traceback" not in err and not [l for l in err.splitlines() if l.startswith("error:")]
    (csv_path,) = lb_dir.glob("*.csv")
    (row,) = list(csv.DictReader(csv_path.open()))
    assert row["status"] == "ok" and 0.0 < float(row["valid_auc"]) < 1.0
    return row


@pytest.mark.parametrize("key, value, expected", [
    ("lr", -1, "train.lr: must be > 0, got -1"),
    ("lr", ".nan", "train.lr: must be a finite number"),
    ("eval_batch_size", 0, "train.eval_batch_size: must be between 1 and"),
    ("batch_size", 1, "train.batch_size: must be between 2 and"),
    ("device", "tpu", "train.device: must be auto, cpu, mps, cuda or cuda:N, got 'tpu'"),
    ("threads", -1, "train.threads: must be 0 or between 1 and 4096, got -1"),
    ("max_train_rows", -5, "train.max_train_rows: must be 0 or >= 2, got -5"),
    ("seed", -1, "train.seed: must be between 0 and"),
    ("patience", 0, "train.patience: must be between 1 and"),
    ("plateau_lr_factor", 0, "train.plateau_lr_factor: must be > 0 and <= 1"),
    ("optimizer", "sgd", "train.optimizer: expected one of 'adam', 'adamw', got 'sgd'"),
    ("grad_clip", -1, "train.grad_clip: must be >= 0"),
])
def test_bad_train_value_names_key_and_range(run_cli, tmp_path, tiny_root, key, value, expected):
    path = write_config(tmp_path, tiny_root)
    rc, _, err = run_cli("run", path, "--set", f"train.{key}={value}", "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")
    assert rc == 2


@pytest.mark.parametrize("section, expected", [
    ({"model": {"name": "din", "embedding_dim": 0}}, "model (din).embedding_dim: must be between 1 and 65536, got 0"),
    ({"model": {"name": "din", "dnn_hidden": [64, 0]}}, "model (din).dnn_hidden: each value must be between 1 and 65536"),
    ({"model": {"name": "dcn", "net_dropout": 1.5}}, "model (dcn).net_dropout: must be >= 0 and < 1, got 1.5"),
    ({"model": {"name": "attention_dnn", "num_heads": 0}}, "model (attention_dnn).num_heads: must be between 1 and 256"),
    ({"model": {"name": "mean_pool_lr", "dim": 0}}, "model (mean_pool_lr).dim: must be between 1 and 65536, got 0"),
    ({"reducer": {"name": "pca", "dim": -3}}, "reducer (pca).dim: must be >= 1, got -3"),
    ({"reducer": {"name": "learned", "dim": 10**6}}, "reducer (learned).dim: must be between 1 and 65536"),
    ({"encoder": {"name": "text", "device": "gpu"}}, "encoder (text).device: must be auto, cpu, mps, cuda or cuda:N"),
    ({"encoder": {"name": "random", "dim": "x" * 5000}}, "encoder (random).dim: expected int, got 'xxxx"),
])
def test_bad_component_value_names_key_and_range(run_cli, tmp_path, tiny_root, section, expected):
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, **section), "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")
    assert len(err) < 600, "a long value must be shortened in the message"


def test_pca_dim_above_the_input_width_is_an_error_not_a_relabelled_row(run_cli, tmp_path, tiny_root):
    path = write_config(tmp_path, tiny_root, reducer={"name": "pca", "dim": 128})  # hashed_bow gives 64
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "reducer.dim=128, but the encoder gives 64-d vectors", tmp_path / "lb")
    path = write_config(tmp_path, tiny_root, encoder={"name": "random", "dim": 512}, reducer={"name": "pca", "dim": 400})
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "reducer.dim=400, but there are only 300 items", tmp_path / "lb")


def test_row_count_one_above_the_batch_size_trains(run_cli, tmp_path, tiny_root):
    """A last batch of one row would break batch norm: it joins the batch before it."""
    from mmbench.run.trainer import n_batches

    assert [n_batches(n, 256) for n in (256, 257, 258, 513, 2)] == [1, 1, 2, 2, 1]
    model = {"name": "dcn", "embedding_dim": 4, "cross_layers": 1, "dnn_hidden": [8], "attention_hidden": [8]}
    path = write_config(tmp_path, tiny_root, model=model,
                        train={"epochs": 1, "device": "cpu", "batch_size": 256, "max_train_rows": 257, "threads": 1})
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_clean_run(rc, err, tmp_path / "lb")


def _edited_copy(tiny_root, tmp_path, file, edit):
    """A copy of the tiny root whose ``file`` (relative path) is rewritten by ``edit(table) -> table``."""
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    path = root / file
    pq.write_table(edit(pq.read_table(path)), path)
    return root


def _set_column(table, name, values):
    return table.set_column(table.schema.get_field_index(name), name, values)


def _all_zero_labels(t):
    return _set_column(t, "label", pa.array(np.zeros(len(t), np.int64)))


def _nan_in_embedding(t):
    col = "item_emb_d128_v1"
    flat = t.column(col).combine_chunks().flatten().to_numpy(zero_copy_only=False).copy()
    flat[128 * 7 + 3] = np.nan
    return _set_column(t, col, pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), 128))


def _scale_embedding(t, col, factor):
    width = t.schema.field(col).type.list_size
    flat = t.column(col).combine_chunks().flatten().to_numpy(zero_copy_only=False) * factor
    return _set_column(t, col, pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), width))


def _bad_utf8_title(t):
    titles = [s.encode() for s in t.column("item_title").to_pylist()]
    titles[4] = b"caf\xe9 \xff"
    return _set_column(t, "item_title", pa.Array.from_buffers(pa.string(), len(titles), pa.array(titles, pa.binary()).buffers()[:3]))


def _absurd_user(t):
    users = t.column("user_id").to_numpy().copy()
    users[0] = 2_000_000_000
    return _set_column(t, "user_id", pa.array(users))


@pytest.mark.parametrize("file, edit, encoder, expected", [
    ("MicroLens_1M_x1/valid.parquet", _all_zero_labels, None,
     "valid.parquet: column 'label' holds only 0s (1,000 rows); the valid split needs both clicks (1) and non-clicks (0)"),
    ("MicroLens_1M_x1/train.parquet", lambda t: t.slice(0, 1), None, "train.parquet has 1 row(s); the train split needs at least 2"),
    ("MicroLens_1M_x1/valid.parquet", lambda t: t.slice(0, 0), None, "valid.parquet has 0 row(s)"),
    ("item_emb.parquet", _nan_in_embedding, {"name": "precomputed", "columns": ["item_emb_d128_v1"]},
     "item_emb.parquet: column 'item_emb_d128_v1' has NaN, inf or values beyond ±1e+09 in 1 row(s) (first at item_id"),
    ("item_feature.parquet", _bad_utf8_title, None, "item_feature.parquet: column 'item_title' has text that is not valid UTF-8"),
    ("MicroLens_1M_x1/train.parquet", _absurd_user, None,
     "train.parquet: column 'user_id' has value 2,000,000,000 but the data holds only 7,000 rows"),
    ("MicroLens_1M_x1/valid.parquet", lambda t: _set_column(t, "item_id", pa.array(np.zeros(len(t), np.int64))), None,
     "valid.parquet: column 'item_id' has value 0, below the allowed minimum 1"),
    ("item_feature.parquet", lambda t: _scale_embedding(t, "txt_emb_BERT", 1e30),
     {"name": "precomputed", "columns": ["txt_emb_BERT"]}, "column 'txt_emb_BERT' has NaN, inf or values beyond ±1e+09"),
])
def test_bad_data_names_file_and_column(run_cli, tmp_path, tiny_root, file, edit, encoder, expected):
    root = _edited_copy(tiny_root, tmp_path, file, edit)
    sections = {"dataset": {"name": "microlens_1m", "data_root": str(root)}}
    if encoder:
        sections["encoder"] = encoder
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, **sections), "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")


def test_files_mmbench_did_not_write_never_stop_a_run(run_cli, tmp_path, tiny_root):
    """Another tool's oracle.json (or a damaged one) is a note; the run is recorded."""
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    (root / "item_images" / "thumbs").mkdir()
    (root / "item_images" / "17.jpg.part").symlink_to(tmp_path / "gone")  # a dangling link
    path = write_config(tmp_path, tiny_root, dataset={"name": "microlens_1m", "data_root": str(root)})
    for content, said in [('{"valid_auc": "n/a", "tool": "other"}', "was not written by mmbench"),
                          ("{ truncated", "cannot be read")]:
        (root / "oracle.json").write_text(content)
        (root / "README.txt").write_text("the other tool's notes")
        rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb", "--set", f"train.seed={len(content)}")
        assert rc == 0, err
        (line,) = err.strip().splitlines()
        assert line.startswith("note:") and "oracle.json" in line and said in line
    rows = list(csv.DictReader(next((tmp_path / "lb").glob("*.csv")).open()))
    assert len(rows) == 2 and all(r["oracle_auc"] == "" for r in rows)


def test_partial_item_files_run_with_one_warning_each(run_cli, tmp_path, tiny_root):
    """item_feature / item_emb meant to cover every item but covering 10: the run is possible and says so."""
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    for name in ("item_feature.parquet", "item_emb.parquet"):
        pq.write_table(pq.read_table(root / name).slice(0, 10), root / name)
    path = write_config(tmp_path, tiny_root, dataset={"name": "microlens_1m", "data_root": str(root)},
                        encoder={"name": "precomputed", "columns": ["item_emb_d128_v1"]})
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("warning:") for line in lines)
    assert "item_feature.parquet: has rows for 10 of 300 items; the others have an empty title" in lines[0]
    assert "item_emb.parquet: column 'item_emb_d128_v1' has vectors for 10 of 300 items; the others get zero" in lines[1]


def test_missing_cover_folder_is_one_warning_with_the_count(tiny_root, tmp_path):
    from mmbench.data.reader import load_mmctr

    root = tmp_path / "data"
    shutil.copytree(tiny_root, root, ignore=shutil.ignore_patterns("item_images"))
    items = load_mmctr(root, "x").items
    with pytest.warns(UserWarning) as caught:
        assert [items.image_path(i) for i in range(1, items.n_items)] == [None] * (items.n_items - 1)
    (warning,) = caught
    assert "item_images does not exist: all 300 item covers are replaced" in str(warning.message)


# --- configs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("reducer: {name: pca, dim: 8}\nmodel: {name: din}\nreducer: {name: none}\n",
     "line 3: key 'reducer' is given twice (first on line 1)"),
    ("model:\n  name: din\n  embedding_dim: 8\n  embedding_dim: 16\n", "line 4: key 'embedding_dim' is given twice"),
    ("model: {name: din}\x00\n", "line 1: not valid YAML (unacceptable character #x0000"),
    ("dataset: {name: " + "q" * 3000 + "}\n", "dataset.name is 3,000 characters long ('qqqq"),
    ("dataset: {name: microlens_1m_synth}\nencoder: {name: random}\nreducer: {name: none}\nmodel: {name: din}\n"
     "train: {lr: " + "9" * 400 + "}\n", "train.lr: must be a finite number, got 9999"),
])
def test_bad_yaml_text_is_one_line(run_cli, tmp_path, text, expected):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")


def test_config_path_that_is_a_folder_or_not_utf8(run_cli, tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    rc, _, err = run_cli("run", tmp_path / "dir.yaml")
    assert_one_line_failure(rc, err, "dir.yaml is a folder; give the path of a YAML file")
    (tmp_path / "latin1.yaml").write_bytes("model: {name: d\xefn}\n".encode("latin-1"))
    rc, _, err = run_cli("run", tmp_path / "latin1.yaml")
    assert_one_line_failure(rc, err, "latin1.yaml is not UTF-8 text (line 1: byte 0xef at offset 15)")


def test_set_switching_a_component_starts_from_its_defaults(tmp_path):
    from mmbench.run import config, pipeline
    from mmbench.contract.registry import default_registry

    quickstart = tmp_path / "attn.yaml"
    quickstart.write_text((Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml").read_text()
                          .replace("name: dcn", "name: attention_dnn\n  num_heads: 2"))
    with pytest.warns(UserWarning, match=r"--set model.name=din replaces model 'attention_dnn' .* so its key "
                                         r"num_heads was dropped"):
        cfg = config.load(quickstart, ["model.name=din", "encoder.name=clip", "encoder.modality=text"])
    assert cfg.model == {"name": "din"} and cfg.encoder == {"name": "clip", "modality": "text"}
    resolved = pipeline.resolve(cfg, default_registry())  # no "unknown key" from the old components
    assert resolved.encoder.params.model == "openai/clip-vit-base-patch32"
    with pytest.warns(UserWarning, match="its key scale was dropped"):
        cfg = config.load(quickstart, ["dataset.name=microlens_1m", "dataset.seed=3"])
    assert cfg.dataset == {"name": "microlens_1m", "seed": 3}


def test_yaml_exponent_without_a_dot_is_a_number():
    from mmbench.contract.params import build_params
    from mmbench.run.trainer import TrainParams

    assert build_params(TrainParams, {"lr": "1e-3"}, "train").lr == 0.001


# --- output paths, the top-level handler, file modes -------------------------------------------------


def test_output_paths_are_checked_before_any_work(run_cli, tmp_path, tiny_root, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    path = write_config(tmp_path, tiny_root)
    cases = [
        (("run", path, "--leaderboard-dir", a_file / "lb"), f"--leaderboard-dir {a_file}/lb cannot be created: {a_file} is a file"),
        (("predict", "abc", "--out", a_file), f"--out {a_file} is a file, not a folder"),
        (("export-embeddings", path, "--out", a_file / "x" / "item_info.parquet"), "--out"),
        (("data", "synth", "--out", a_file / "d", "--scale", "tiny"), f"{a_file} is a file"),
    ]
    for args, expected in cases:
        rc, _, err = run_cli(*args)
        assert_one_line_failure(rc, err, expected)
    monkeypatch.setenv("MMBENCH_HOME", str(a_file))
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, f"MMBENCH_HOME {a_file} is a file, not a folder", tmp_path / "lb")
    assert not (tmp_path / "lb").exists()


DISK_FULL_DATASET = """
import errno, os
from dataclasses import dataclass
import mmbench
from mmbench.contract.components import Dataset

class DiskFull(Dataset):
    @dataclass
    class Params:
        what: str = "enospc"

    def load(self, ctx):
        params = self.params
        if params.what == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/cache/x.npy")
        if params.what == "oom":
            raise MemoryError("Unable to allocate 128. GiB for an array with shape (2000000000, 16)")
        if params.what == "utf8":
            b"\\xff".decode("utf-8")
        raise TypeError("'NoneType' object is not subscriptable")

@mmbench.hookimpl
def register_datasets(register):
    register("disk_full", DiskFull)
"""


@pytest.mark.parametrize("what, code, expected", [
    ("enospc", 2, "/data/cache/x.npy: No space left on device; free disk space"),
    ("oom", 2, "out of memory (dataset 'disk_full' (disk-full 0.1) failed to load): Unable to allocate 128. GiB"),
    ("utf8", 2, "text that is not valid UTF-8 (dataset 'disk_full'"),
    ("bug", 2, "dataset 'disk_full' (disk-full 0.1) failed to load: TypeError"),  # a plugin's own bug names it
])
def test_environment_failures_inside_plugins_are_one_line(run_cli, site, tmp_path, tiny_root, monkeypatch, what, code,
                                                          expected):
    make_dist(site, "disk-full", {"disk_full": "errplug_disk_full"}, {"errplug_disk_full": DISK_FULL_DATASET})
    path = write_config(tmp_path, tiny_root, dataset={"name": "disk_full", "what": what})
    rc, _, err = run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, expected, tmp_path / "lb")
    assert rc == code
    if what == "enospc":
        monkeypatch.setenv("MMBENCH_DEBUG", "1")
        with pytest.raises(Exception, match="failed to load"):
            run_cli("run", path, "--leaderboard-dir", tmp_path / "lb")


def test_an_internal_error_is_one_line_exit_1(run_cli, monkeypatch, tmp_path):
    from mmbench.commands import doctor

    def broken(args):
        raise KeyError("oops")

    monkeypatch.setattr(doctor, "cmd_doctor", broken)
    rc, _, err = run_cli("doctor")
    assert rc == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("error: internal error: KeyError: 'oops'") and "MMBENCH_DEBUG=1" in line


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_writes_follow_the_umask(tmp_path, umask):
    from mmbench.files.atomic import atomic_dir, atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.csv", "x")
        with atomic_dir(tmp_path / "d") as d:
            (d / "inner").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.csv").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask


def test_unreachable_hub_is_detected_without_retries(monkeypatch):
    from mmbench.contract import hf

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(hf, "_REACHABLE", {})
    assert hf.hub_reachable(timeout=1.0) is False
    message = str(hf.load_failed("org/model", "encoder 'clip'", OSError("x")))
    assert "127.0.0.1 cannot be reached from this machine and there is no local copy in the HF cache" in message


# ------------------------------------------------------------- the environment, described rightly


def test_a_path_under_a_file_is_said_so_never_remove_it(tmp_path):
    from mmbench.output.failures import describe_failure

    afile = tmp_path / "afile"
    afile.write_text("x")
    for exc in (FileExistsError(errno.EEXIST, "File exists", str(afile)),  # mkdir(parents=True) of afile/x
                NotADirectoryError(errno.ENOTDIR, "Not a directory", str(afile / "x" / "y.db"))):
        message, code = describe_failure(exc)
        assert code == 2 and "remove" not in message
        assert str(afile) in message and "a file where a folder is needed" in message


def test_a_full_disk_names_the_file_being_written(tmp_path):
    from mmbench.files.atomic import atomic_path, atomic_write_text
    from mmbench.output.failures import describe_failure

    target = tmp_path / "lb" / "board.csv"
    with pytest.raises(OSError) as info:
        with atomic_path(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # write() and close() name no file
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    message, code = describe_failure(info.value)
    assert message.startswith(f"{target}: No space left on device; free disk space") and code == 2
    assert not list(target.parent.iterdir())  # the temp file is gone
    # a writer that names nothing is still a full disk, not "check the path"
    message, _ = describe_failure(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert message.startswith("a disk is full") and "check the path" not in message
    atomic_write_text(target, "ok")  # the helper itself still writes


@pytest.mark.parametrize("where", ["data_root", "leaderboard", "home"])
def test_a_tilde_user_that_does_not_exist_is_named(run_cli, tmp_path, tiny_root, monkeypatch, where):
    path = write_config(tmp_path, tiny_root)
    lb = tmp_path / "lb"
    if where == "data_root":
        path = write_config(tmp_path, tiny_root, dataset={"name": "microlens_1m_synth", "scale": "tiny", "world": 1,
                                                          "data_root": "~no_such_user_mmb/data"})
        names = "dataset.data_root ~no_such_user_mmb/data"
    elif where == "leaderboard":
        lb, names = "~no_such_user_mmb/lb", "--leaderboard-dir ~no_such_user_mmb/lb"
    else:
        monkeypatch.setenv("MMBENCH_HOME", "~no_such_user_mmb/home")
        names = "MMBENCH_HOME ~no_such_user_mmb/home"
    rc, _, err = run_cli("run", path, "--leaderboard-dir", lb)
    assert_one_line_failure(rc, err, f"{names}: the user 'no_such_user_mmb' does not exist on this machine")
    assert "bug" not in err and rc == 2


def test_pathlibs_no_home_error_is_never_a_bug_report():
    from mmbench.errors import PluginError
    from mmbench.output.failures import describe_failure

    try:
        try:
            raise RuntimeError("Could not determine home directory.")
        except RuntimeError as exc:
            raise PluginError("encoder 'x' failed to encode: RuntimeError: ... (a bug in the plugin)") from exc
    except PluginError as wrapped:
        message, code = describe_failure(wrapped)
    assert code == 2 and "bug" not in message and "that user does not exist" in message


def _piped(args, tmp_path):
    """``mmbench ARGS | head -0``: the reader is gone before mmbench writes. (rc, stderr)."""
    env = {**os.environ, "MMBENCH_HOME": str(tmp_path / "home")}
    env.pop("MMBENCH_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "mmbench.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=Path(__file__).parents[1])
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(120), err


@pytest.mark.parametrize("args", [["leaderboard", "--leaderboard-dir", "leaderboards", "--format", "json", "--runs"],
                                  ["leaderboard", "--leaderboard-dir", "leaderboards"], ["plugins"]])
def test_a_closed_pipe_ends_quietly_like_unix_tools(tmp_path, args):
    rc, err = _piped(args, tmp_path)
    assert (rc, err) == (141, "")


def test_a_full_standard_output_is_named(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    env = {**os.environ, "MMBENCH_HOME": str(tmp_path / "home")}
    env.pop("MMBENCH_DEBUG", None)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "mmbench.cli", "plugins"], stdout=full, stderr=subprocess.PIPE,
                              env=env, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: standard output: No space left on device; free disk space (e.g. `mmbench cache clear`) or point "
        "MMBENCH_HOME / the output at a larger disk"]


def test_cache_clear_through_a_symlink_removes_entries_never_what_they_point_to(run_cli, tmp_path, monkeypatch):
    home, outside, linked_entry = tmp_path / "home", tmp_path / "big_disk", tmp_path / "elsewhere" / "entry"
    home.mkdir()
    for entry in (outside / ("a" * 24), linked_entry):
        entry.mkdir(parents=True)
        (entry / "meta.json").write_text('{"inputs": {"stage": "encode", "encoder": "random"}}')
        (entry / "vectors.npy").write_bytes(b"0" * 100)
    (outside / "precious.txt").write_text("not the cache's")
    (outside / ("b" * 24)).symlink_to(linked_entry)
    (home / "cache").symlink_to(outside)
    monkeypatch.setenv("MMBENCH_HOME", str(home))
    rc, out, err = run_cli("cache", "clear")
    assert rc == 0 and "cache cleared: 2 entries" in out
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]  # both entries gone, the rest kept
    assert (home / "cache").is_symlink() and linked_entry.is_dir()  # the links' targets outside are kept
    assert "is a link to" in err and "1 cache entries were links" in err
    assert all(line.startswith("note:") for line in err.strip().splitlines())


def test_openclip_local_weights_are_checked_as_files_not_blamed_on_the_hub(tmp_path, monkeypatch):
    from mmbench.errors import ConfigError, MMBenchError
    from mmbench_plugins.encoders import openclip

    assert openclip.local_weights("laion2b_s34b_b79k") is None  # a pretrained tag
    with pytest.raises(ConfigError, match="missing.safetensors: no such file"):
        openclip.local_weights(str(tmp_path / "missing.safetensors"))
    with pytest.raises(ConfigError, match="is a folder"):
        openclip.local_weights(str(tmp_path))
    with pytest.raises(MMBenchError, match="the user 'no_such_user_mmb' does not exist"):
        openclip.local_weights("~no_such_user_mmb/w.bin")
    open_clip = pytest.importorskip("open_clip")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a checkpoint")

    def unloadable(*args, **kwargs):
        raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", unloadable)
    params = openclip.OpenClipParams(pretrained=str(bad))
    with pytest.raises(ConfigError) as info:
        openclip.OpenClipTowers(params, "cpu")
    message = str(info.value)
    assert message.startswith(f"encoder.pretrained {bad}: not a valid open_clip checkpoint for 'ViT-B-32'")
    assert "huggingface" not in message.lower() and "hub" not in message
