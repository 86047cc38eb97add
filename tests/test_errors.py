"""Bad inputs across config, data, plugins and runs: each ends in one clear line on stderr, a non-zero
exit code, no traceback and no leaderboard row. The CLI runs in-process (``cli.main``) against the
tiny synthetic data; plugins are discovered through fake dist-infos on sys.path, as if pip-installed.
"""
from __future__ import annotations

import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mmbench import cli
from mmbench.registry import reset_default_registry
from plugin_dists import BROKEN_ON_IMPORT, NAN_MODEL, make_dist


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    from mmbench.data.synth import generate

    root = tmp_path_factory.mktemp("data") / "tiny"
    generate(root, "tiny", 0)
    return root


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
    ({"train": {"epochs": 0}}, "train: epochs must be >= 1"),
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
    assert "declares MMBENCH_API_VERSION = 99 but this mmbench speaks plugin API 1" in out
    rc, out, _ = run_cli("plugins")
    assert rc == 0


def test_unknown_component_mentions_the_broken_plugin(run_cli, site, tmp_path, tiny_root):
    make_dist(site, "broken-plugin", {"broken": "errplug_broken2"}, {"errplug_broken2": BROKEN_ON_IMPORT})
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, model={"name": "qin"}), "--leaderboard-dir", tmp_path / "lb")
    assert rc == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("warning:") and len(lines) == 2
    assert "unknown model 'qin'" in lines[1] and "Plugin 'broken' (broken-plugin) failed to load" in lines[1]


def test_nan_loss_stops_with_the_epoch(run_cli, site, tmp_path, tiny_root):
    make_dist(site, "nan-plugin", {"nan": "errplug_nan"}, {"errplug_nan": NAN_MODEL})
    rc, _, err = run_cli("run", write_config(tmp_path, tiny_root, model={"name": "nan_model"}),
                         "--leaderboard-dir", tmp_path / "lb")
    assert_one_line_failure(rc, err, "training diverged: loss is nan at epoch 1", tmp_path / "lb")


def test_encoder_that_raises_is_named(run_cli, site, tmp_path, tiny_root):
    source = """
        import mmbench

        class Bad:
            Params = None
            def __init__(self, params): pass
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
    path = write_config(tmp_path, tiny_root)
    rc, _, err = run_cli("predict", path, "--out", tmp_path / "sub")
    assert_one_line_failure(rc, err, f"train it first with `mmbench run {path}`")
    assert not (tmp_path / "sub").exists()


def test_corrupt_cache_entry_is_recomputed(tmp_path, tiny_root, site):
    from mmbench import config, pipeline
    from mmbench.registry import default_registry

    resolved = pipeline.resolve(config.from_dict(yaml.safe_load(open(write_config(tmp_path, tiny_root)))), default_registry())
    ctx = pipeline.RunContext(home=tmp_path / "home")
    data = pipeline.load_data(resolved, ctx)
    first, hit, _, _ = pipeline.encode_items(resolved, data, ctx)
    (entry,) = ctx.cache.entries()
    raw = bytearray((entry.path / "vectors.npy").read_bytes())
    raw[-5] ^= 0xFF  # one flipped byte in the data: same shape, wrong checksum
    (entry.path / "vectors.npy").write_bytes(bytes(raw))
    second, hit2, _, _ = pipeline.encode_items(resolved, data, ctx)
    assert (hit, hit2) == (False, False)
    np.testing.assert_array_equal(first, second)
    (entry.path / "meta.json").write_text("{ truncated")
    third, hit3, _, _ = pipeline.encode_items(resolved, data, ctx)
    assert hit3 is False
    np.testing.assert_array_equal(first, third)
    assert pipeline.encode_items(resolved, data, ctx)[1] is True
