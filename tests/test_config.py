import pytest

from mmbench.run import config
from mmbench.errors import ConfigError
from mmbench.contract.params import added_later, build_params, describe_params, params_to_dict
from mmbench.run.trainer import TrainParams

BASE = """
dataset: {name: fake}
encoder: {name: shipped_fake}
reducer: {name: pca, dim: 4}
model: {name: attention_dnn}
train: {epochs: 2}
"""


def write(tmp_path, text=BASE):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_load_and_overrides(tmp_path):
    cfg = config.load(write(tmp_path), ["train.seed=3", "reducer.dim=8", "dataset.data_root=/data/x", "model.dnn_hidden=[8, 4]"])
    assert cfg.train == {"epochs": 2, "seed": 3}
    assert cfg.reducer == {"name": "pca", "dim": 8}
    assert cfg.dataset["data_root"] == "/data/x"
    assert cfg.model["dnn_hidden"] == [8, 4]
    assert cfg.component_params("reducer") == {"dim": 8}


def test_unknown_top_level_key_suggests(tmp_path):
    with pytest.raises(ConfigError, match=r"run.yaml: unknown top-level key 'trian'.*did you mean 'train'"):
        config.load(write(tmp_path, BASE + "trian: {}\n"))


def test_unknown_section_in_override(tmp_path):
    with pytest.raises(ConfigError, match="unknown section 'modle'.*did you mean 'model'"):
        config.load(write(tmp_path), ["modle.name=din"])


def test_override_needs_equals(tmp_path):
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config.load(write(tmp_path), ["train.seed"])


def test_missing_name(tmp_path):
    with pytest.raises(ConfigError, match="section 'encoder' needs a 'name'"):
        config.load(write(tmp_path, BASE.replace("encoder: {name: shipped_fake}", "encoder: {}")))


def test_bad_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"run.yaml line \d+: not valid YAML"):
        config.load(write(tmp_path, "dataset: {name: fake\nencoder: [\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.yaml")


def test_params_unknown_key_and_type():
    with pytest.raises(ConfigError, match=r"train: unknown key 'epoch' \(did you mean 'epochs'\?\)"):
        build_params(TrainParams, {"epoch": 3}, "train")
    with pytest.raises(ConfigError, match=r"train.lr: expected float, got 'fast'"):
        build_params(TrainParams, {"lr": "fast"}, "train")
    with pytest.raises(ConfigError, match=r"train.monitor: expected one of"):
        build_params(TrainParams, {"monitor": "accuracy"}, "train")
    with pytest.raises(ConfigError, match=r"train.epochs: must be between 1 and 100000, got 0"):
        build_params(TrainParams, {"epochs": 0}, "train")
    params = build_params(TrainParams, {"lr": 1, "epochs": 3}, "train")
    assert params.lr == 1.0 and isinstance(params.lr, float) and params.epochs == 3


def test_describe_params_lists_defaults():
    described = {p["name"]: p for p in describe_params(TrainParams)}
    assert described["batch_size"]["default"] == 1024
    assert described["monitor"]["type"].startswith("one of")


def test_a_field_added_later_is_recorded_only_when_it_leaves_its_default():
    from dataclasses import dataclass

    @dataclass
    class Params:
        width: int = 8
        extra: float = added_later(0.0)

    assert params_to_dict(Params()) == {"width": 8}
    assert params_to_dict(Params(extra=0.5)) == {"width": 8, "extra": 0.5}
    assert build_params(Params, {"extra": 0.25}, "run.yaml").extra == 0.25
    assert [d["name"] for d in describe_params(Params)] == ["width", "extra"]  # still listed for users
