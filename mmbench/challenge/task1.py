"""Task 1 of the MMCTR challenge as one route: ``mmbench task1 CONFIG.yaml``.

Task 1 ("multimodal item embedding"): a 128-d ``item_emb_d128`` per item is written into
``item_info.parquet`` (row 0 kept zero) and the challenge's *fixed* baseline DIN is trained on it; only
embedding_regularizer, net_regularizer, net_dropout, learning_rate and batch_size may be tuned.

    config: dataset, encoder, reducer to 128 [, the allowed knobs]
      encode, reduce (cached)   -> 128-d table
      write                     -> $MMBENCH_HOME/task1/<dataset>-<content hash>/: item_info.parquet new,
                                   every other file of the data root linked, nothing big copied
      read the file back        -> the fixed DIN trained on it (model_zoo/din: Params + config.yaml)
      row                       -> leaderboard ``<dataset>-task1`` (never mixed with Task-2 rows)

A Task-1 run's resolved config carries ``task: 1``: its hash differs from any ``mmbench run`` config,
and ``mmbench predict`` rebuilds it the same way (``resolve_stored``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..run import config as config_mod
from ..run import pipeline
from ..files.atomic import atomic_dir, atomic_path
from ..contract.components import RunContext
from ..run.config import RunConfig
from ..data import schema
from ..data.reader import load_shipped
from ..data.types import MMCTRData
from ..errors import ConfigError, DataError, note
from ..leaderboard.summary import baseline_components
from ..files.locks import file_lock
from ..leaderboard.store import task_dataset_id
from ..contract.registry import Registry
from ..run.trainer import TrainParams

TASK = 1
#: the challenge's baseline model, with its published defaults: the model of the official baseline's
#: setting (mmbench/leaderboard/baselines.yaml), the same data the leaderboard names the baseline by
MODEL = baseline_components()[2]
#: the challenge's tunable knobs -> where they live in an mmbench config
CHALLENGE_KNOBS = {
    "embedding_regularizer": "train.embedding_reg",
    "net_regularizer": "train.net_reg",
    "net_dropout": "model.net_dropout",
    "learning_rate": "train.lr",
    "batch_size": "train.batch_size",
}
NOT_TUNING = config_mod.NOT_TUNING  # train keys that tune nothing: which repetition (seed), where, how fast
#: train keys that shorten the fixed training (a quick run, a smoke test): allowed, and recorded in the
#: run's resolved config as ``deviations`` (so on its row) when they differ from the fixed DIN's
SHORTENING = ("epochs", "patience", "max_train_rows")
ALLOWED = {
    "model": {key.split(".")[1] for key in CHALLENGE_KNOBS.values() if key.startswith("model.")},
    "train": ({key.split(".")[1] for key in CHALLENGE_KNOBS.values() if key.startswith("train.")}
              | set(NOT_TUNING) | set(SHORTENING)),
}
ALLOWED_TEXT = (", ".join(CHALLENGE_KNOBS.values())
                + f" (and train.{', train.'.join(NOT_TUNING)}, which tune nothing; train.{', train.'.join(SHORTENING)}, "
                  f"which shorten the training and are recorded as a deviation)")


# ------------------------------------------------------------------------------------- config


def _check_fixed(raw: dict, source: str) -> None:
    """Refuse any change to the baseline DIN but the allowed knobs, naming the key."""
    model = raw.get("model") or {}
    if isinstance(model, dict) and model.get("name", MODEL) != MODEL:
        raise ConfigError(f"{source}: model.name: Task 1 trains the challenge's fixed baseline DIN, not "
                          f"'{model['name']}'; leave the model section out (only model.net_dropout may be set)")
    for section in ("model", "train"):
        given = raw.get(section) or {}
        if not isinstance(given, dict):
            continue  # from_dict names the wrong type
        for key in given:
            if section == "model" and key == "name" or key in ALLOWED[section]:
                continue
            hint = (f"write the challenge's {key} as {CHALLENGE_KNOBS[key]}" if key in CHALLENGE_KNOBS
                    else f"only {ALLOWED_TEXT} may change")
            raise ConfigError(f"{source}: {section}.{key}: Task 1 trains the fixed baseline DIN; {hint}")


def config_from_dict(raw: dict, source: str, check: bool = True) -> RunConfig:
    """A Task-1 config (dataset, encoder, reducer; optionally the allowed knobs) as a run config of the
    baseline DIN. ``check=False`` for a stored run's resolved config, which lists every default."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with sections dataset, encoder, reducer")
    raw = dict(raw)
    raw.pop("deviations", None)  # a stored run's record of its shortened training (Task1Resolved.as_dict)
    task = raw.pop("task", TASK)
    if task != TASK:
        raise ConfigError(f"{source}: task: {task!r}; `mmbench task1` runs Task 1 (Task 2 is `mmbench run`)")
    if check:
        _check_fixed(raw, source)
    model = raw.get("model") or {}
    raw["model"] = {"name": MODEL, **model} if isinstance(model, dict) else model
    return config_mod.from_dict(raw, source)


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    raw = config_mod.read_yaml(path)
    for assignment in overrides or []:
        config_mod.apply_override(raw, assignment, str(path))
    return config_from_dict(raw, str(path))


def check_width(who: str, reducer: str, asked: int | None, width: int, encoder_width: int | None = None) -> None:
    """Task 1 needs 128-d vectors; say which setting to change to get them."""
    if width == schema.EMB_DIM:
        return
    if asked == schema.EMB_DIM:
        gives = f" (the encoder gives {encoder_width}-d vectors)" if encoder_width else ""
        fix = (f"reducer '{reducer}' was asked for {asked} dims but gives {width}{gives}; use an encoder with at "
               f"least {schema.EMB_DIM} dims")
    else:
        fix = f"use a reducer with dim {schema.EMB_DIM}: --set reducer.name=pca --set reducer.dim={schema.EMB_DIM}"
    raise ConfigError(f"{who}: reducer '{reducer}' gives {width}-d vectors; Task 1's item_emb_d128 needs "
                      f"{schema.EMB_DIM}; {fix}")


def check_fixed_reducer(resolved: pipeline.Resolved, who: str) -> None:
    """What the config alone tells, before any encoding: a fixed reducer (a trained one has no item
    embedding to write) asked for 128 dims."""
    red = resolved.reducer
    if red.component.factory.trains:
        raise ConfigError(f"{who}: reducer '{red.name}' is trained with a CTR model, so it has no fixed item "
                          f"embedding to write; use a fixed reducer: --set reducer.name=pca --set reducer.dim=128")
    asked = red.create().output_width()
    if asked is not None:
        check_width(who, red.name, asked, asked)


@dataclasses.dataclass
class Task1Resolved(pipeline.Resolved):
    """A resolved Task-1 config: the baseline DIN trained on the embedding as written to disk."""

    def as_dict(self) -> dict:
        out = {**super().as_dict(), "task": TASK}
        if self.deviations():
            out["deviations"] = self.deviations()
        return out

    def deviations(self) -> list[str]:
        """The fixed training's settings this run shortened, e.g. ``train.epochs=2 (fixed: 100)``."""
        fixed = {**dataclasses.asdict(TrainParams()), **self.model.component.train_defaults}
        return [f"train.{k}={getattr(self.train, k)} (fixed: {fixed[k]})" for k in SHORTENING
                if getattr(self.train, k) != fixed[k]]

    def before_training(self, data: MMCTRData, reduction: pipeline.Reduction, ctx: RunContext):
        who, red = self.config.source, self.reducer
        if reduction.codes is not None:
            raise ConfigError(f"{who}: reducer '{red.name}' hands out codes; Task 1's item_emb_d128 is a dense "
                              f"128-d vector: use a reducer that returns vectors (e.g. pca with dim 128)")
        check_width(who, red.name, red.create().output_width(), reduction.table.shape[1])
        root = write_data_root(data, reduction.table, ctx.home)
        table = read_bound_item_info(root, data, reduction.table)  # the file as written, checked against its folder
        task_data = dataclasses.replace(data, dataset_id=task_dataset_id(data.dataset_id, TASK), root=root)
        return task_data, pipeline.Reduction(table, reducer=reduction.reducer, cache_hit=reduction.cache_hit,
                                             seconds=reduction.seconds)


def resolve(cfg: RunConfig, registry: Registry) -> Task1Resolved:
    resolved = pipeline.resolve(cfg, registry)
    check_fixed_reducer(resolved, cfg.source)
    task1 = Task1Resolved(**{f.name: getattr(resolved, f.name) for f in dataclasses.fields(resolved)})
    if task1.deviations():
        note(f"{cfg.source}: {', '.join(task1.deviations())}: a shortened Task-1 training, not the challenge's "
             f"fixed one; recorded in the row's config as a deviation (its hash differs from a full run's)")
    return task1


def resolve_stored(config: dict, source: str, registry: Registry) -> pipeline.Resolved:
    """A stored run's resolved config (run.json) resolved again: a Task-1 run as a Task-1 run."""
    if isinstance(config, dict) and config.get("task") == TASK:
        return resolve(config_from_dict(config, source, check=False), registry)
    return pipeline.resolve(config_mod.from_dict(config, source), registry)


def task_of(config: dict) -> int:
    """The challenge task a stored resolved config was trained for (2 unless it says 1)."""
    return TASK if isinstance(config, dict) and config.get("task") == TASK else 2


# -------------------------------------------------------------------- item_info.parquet


def source_item_tags(data: MMCTRData) -> np.ndarray:
    """item_tags exactly as the source item_info.parquet holds them (int64), else from the item table."""
    path = Path(data.root) / schema.ITEM_INFO.path
    if path.is_file():
        table = pq.read_table(path, columns=["item_id", "item_tags"])
        ids = table.column("item_id").to_numpy()
        if len(ids) == data.items.n_items and np.array_equal(ids, np.arange(len(ids))):
            flat = table.column("item_tags").combine_chunks().flatten().to_numpy()
            return flat.reshape(len(ids), schema.ITEM_INFO.column("item_tags").type.list_size).astype(np.int64)
    return np.asarray(data.items.item_tags, dtype=np.int64)


def item_info_table(vectors: np.ndarray, item_tags: np.ndarray) -> pa.Table:
    """The challenge's item_info schema: item_id, item_tags, item_emb_d128 (float64), row 0 all zeros."""
    n, dim = vectors.shape
    vecs = np.asarray(vectors, dtype=np.float64).copy()
    vecs[0] = 0.0  # padding row stays zero
    tags_type = schema.ITEM_INFO.column("item_tags").type
    columns = [
        pa.array(np.arange(n, dtype=np.int64), schema.INT),
        pa.FixedSizeListArray.from_arrays(pa.array(item_tags.reshape(-1), pa.int64()), tags_type.list_size),
        pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float64()), dim),
    ]
    return pa.Table.from_arrays(columns, schema=schema.ITEM_INFO.arrow_schema())


def write_item_info(path: Path, data: MMCTRData, vectors: np.ndarray, who: str = "task1") -> None:
    tags = source_item_tags(data)
    if tags.shape != (data.items.n_items, schema.ITEM_INFO.column("item_tags").type.list_size):
        raise DataError(f"{who}: item_tags of shape {tags.shape} do not match {data.items.n_items} items")
    table = item_info_table(vectors, tags)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


# --------------------------------------------------------------------- the Task-1 data root


def data_root_for(data: MMCTRData, vectors: np.ndarray, home: Path) -> Path:
    """``$MMBENCH_HOME/task1/<dataset>-<hash of the vectors>``: one folder per embedding, shared by the
    DIN runs (seeds, knobs) trained on it."""
    digest = hashlib.blake2b(np.ascontiguousarray(vectors, dtype=np.float32).tobytes(), digest_size=6).hexdigest()
    return Path(home) / "task1" / f"{data.dataset_id}-{digest}"


def _as_written(vectors: np.ndarray) -> np.ndarray:
    """The vectors as item_info.parquet holds them once read back (float32, padding row zero)."""
    out = np.asarray(vectors, dtype=np.float32).copy()
    out[0] = 0.0
    return out


def read_bound_item_info(root: Path, data: MMCTRData, vectors: np.ndarray) -> np.ndarray:
    """The Task-1 folder's item_emb_d128 as written, tied to ``vectors``: the folder is named by their hash
    (:func:`data_root_for`), so a file that holds anything else (replaced, even by one of the same shape,
    or damaged) is not what this run's config measures. It is written again from ``vectors``, with a note."""
    path = root / schema.ITEM_INFO.path
    expected = _as_written(vectors)
    try:
        table = load_shipped(root, data.items.n_items, "item_info.parquet", "item_emb_d128")
        if table.shape == expected.shape and np.array_equal(table, expected):
            return table
        why = "holds other vectors than the ones its folder is named for"
    except DataError as exc:
        why = f"cannot be read ({exc})"
    note(f"{path} {why} (replaced or changed after mmbench wrote it); it is written again from this config's "
         f"vectors")
    from filelock import FileLock

    with FileLock(str(root.parent / f".{root.name}.lock")):
        path.unlink(missing_ok=True)  # never write through a link into the source data
        write_item_info(path, data, vectors)
    return load_shipped(root, data.items.n_items, "item_info.parquet", "item_emb_d128")


def _link(src: Path, dst: Path) -> None:
    """A symbolic link; where the file system has none, a hard link or (folders) a copy."""
    try:
        os.symlink(src, dst, target_is_directory=src.is_dir())
    except OSError:
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def link_data_root(src: Path, dst: Path, replaced: Path) -> None:
    """Link every entry of ``src`` into ``dst`` except the path ``replaced`` (relative), whose parent
    folders are made real so that the new file can sit beside the linked ones."""
    head = replaced.parts[0]
    for entry in sorted(src.iterdir()):
        if entry.name != head:
            _link(entry.resolve(), dst / entry.name)
        elif len(replaced.parts) > 1 and entry.is_dir():
            (dst / head).mkdir()
            link_data_root(entry, dst / head, Path(*replaced.parts[1:]))


def write_data_root(data: MMCTRData, vectors: np.ndarray, home: Path) -> Path:
    """The Task-1 copy of ``data.root``: the new item_info.parquet, every other file linked."""
    root = data_root_for(data, vectors, home)
    info = root / schema.ITEM_INFO.path
    if info.is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(root.parent / f".{root.name}.lock", "one writer of this Task-1 data root at a time",
                   timeout=math.inf):
        if info.is_file():
            return root
        with atomic_dir(root) as tmp:
            link_data_root(Path(data.root).resolve(), tmp, Path(schema.ITEM_INFO.path))
            write_item_info(tmp / schema.ITEM_INFO.path, data, vectors)
            (tmp / "task1.json").write_text(json.dumps(
                {"source": str(Path(data.root).resolve()), "dataset": data.dataset_id,
                 "written": "MicroLens_1M_x1/item_info.parquet (item_emb_d128); everything else is linked"}, indent=1))
    return root
