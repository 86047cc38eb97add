"""The authors' FuxiCTR config, resolved to one experiment and re-written for a fidelity run.

The three repositories lay their configs out differently: a single tuner yaml (``base_config`` +
``base_expid`` + ``dataset_config`` + ``tuner_space``: the challenge baseline) or a folder with
``model_config*.yaml`` (a ``Base`` section and experiment ids) and ``dataset_config*.yaml`` (the 1st
and 2nd place). Both resolve here, the way FuxiCTR's ``load_config`` and its tuner would, to one flat
dict of model params and one dataset section; the run then gets a fresh config folder holding just
that experiment with only paths, vocabulary sizes, epochs, seed and (when asked) batch size edited.
Pure yaml: nothing of FuxiCTR is imported.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigError

EXPID = "mmbench_fidelity"
DATA_KEYS = ("train_data", "valid_data", "test_data", "item_info", "global_item_info")


@dataclass
class AuthorsConfig:
    source: str  # what was read, for the report
    params: dict  # model/training params of the one experiment (FuxiCTR's flat dict)
    dataset_id: str
    dataset: dict  # its dataset_config section


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the authors' config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the authors' config is not a mapping")
    return data


def _merged(folder: Path, prefix: str) -> dict:
    """All ``prefix*.yaml`` files of a config folder, merged (FuxiCTR reads them all)."""
    merged: dict = {}
    files = sorted(folder.glob(f"{prefix}*.yaml"))
    if not files:
        raise ConfigError(f"{folder}: no {prefix}*.yaml; give a FuxiCTR config folder or tuner yaml")
    for f in files:
        merged.update(_read_yaml(f))
    return merged


def _from_folder(folder: Path, expid: str | None) -> AuthorsConfig:
    models = _merged(folder, "model_config")
    ids = [k for k in models if k != "Base"]
    if expid is None:
        if len(ids) != 1:
            raise ConfigError(f"{folder}: holds experiments {ids}; pick one with --authors-expid")
        expid = ids[0]
    if expid not in models:
        raise ConfigError(f"{folder}: no experiment {expid!r} (it holds {ids})")
    params = {**(models.get("Base") or {}), **models[expid]}
    datasets = _merged(folder, "dataset_config")
    dataset_id = params.get("dataset_id")
    if dataset_id not in datasets:
        raise ConfigError(f"{folder}: dataset_config has no {dataset_id!r} (experiment {expid})")
    return AuthorsConfig(f"{folder.name} / {expid}", params, dataset_id, dict(datasets[dataset_id]))


def _from_tuner(path: Path, repo: Path, expid: str | None) -> AuthorsConfig:
    """A tuner yaml: its base experiment, its dataset section, the first value of each tuner_space list
    (FuxiCTR's tuner enumerates them; experiment 001 takes the first of each)."""
    tuner = _read_yaml(path)
    for key in ("base_config", "base_expid", "dataset_id", "dataset_config"):
        if key not in tuner:
            raise ConfigError(f"{path}: tuner config without {key!r}")
    base = _from_folder_models(repo / tuner["base_config"], expid or tuner["base_expid"])
    dataset_id = tuner["dataset_id"]
    space = {k: (v[0] if isinstance(v, list) else v) for k, v in (tuner.get("tuner_space") or {}).items()}
    params = {**base, **space, "dataset_id": dataset_id}
    if dataset_id not in tuner["dataset_config"]:
        raise ConfigError(f"{path}: dataset_config has no {dataset_id!r}")
    return AuthorsConfig(f"{path.name} / {expid or tuner['base_expid']} (first of each tuner_space list)",
                         params, dataset_id, dict(tuner["dataset_config"][dataset_id]))


def _from_folder_models(folder: Path, expid: str) -> dict:
    models = _merged(folder, "model_config")
    if expid not in models:
        raise ConfigError(f"{folder}: no experiment {expid!r} (it holds {[k for k in models if k != 'Base']})")
    return {**(models.get("Base") or {}), **models[expid]}


def resolve(repo: Path, config: str, expid: str | None) -> AuthorsConfig:
    path = repo / config
    if path.is_dir():
        return _from_folder(path, expid)
    if path.is_file():
        return _from_tuner(path, repo, expid)
    raise ConfigError(f"{path}: no such config in the authors' repository")


def edited(cfg: AuthorsConfig, data_dir: Path, model_root: Path, vocab: dict[str, int], epochs: int, seed: int,
           batch_size: int | None, patience: int | None, workers: int | None) -> tuple[dict, dict]:
    """(model_config, dataset_config) of the run: the experiment under EXPID with only data paths,
    vocabulary sizes, epochs, seed, batch size, patience and loader workers changed."""
    dataset = dict(cfg.dataset)
    dataset["data_root"] = str(data_dir.parent) + "/"
    for key in DATA_KEYS:
        if key in dataset:
            target = data_dir / Path(str(dataset[key])).name
            dataset[key] = str(target) if target.exists() else None
    dataset["rebuild_dataset"] = False
    cols = []
    for col in dataset.get("feature_cols", []):
        col = dict(col)
        if "vocab_size" in col and col.get("name") in vocab:
            col["vocab_size"] = vocab[col["name"]]
        cols.append(col)
    dataset["feature_cols"] = cols
    params = dict(cfg.params)
    params.update(epochs=epochs, seed=seed, model_root=str(model_root) + "/", dataset_id=cfg.dataset_id)
    if batch_size:
        params["batch_size"] = batch_size
    if patience:
        params["early_stop_patience"] = patience
    if workers is not None:
        params["num_workers"] = workers
    return {EXPID: params}, {cfg.dataset_id: dataset}


def write(folder: Path, model_config: dict, dataset_config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_config.yaml").write_text(yaml.safe_dump(model_config, sort_keys=False))
    (folder / "dataset_config.yaml").write_text(yaml.safe_dump(dataset_config, sort_keys=False))
    return folder
