"""A sweep file and its plan: the file parsed, every run it asks for (encoder x reducer x model x grid
point x seed, validated, without duplicates), grouped by the stages they share.

Sweep file = a run config (the base) + ``sweep:`` lists + optional ``executor:`` and ``ray:``; see
docs/sweeps.md.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..run import config as config_mod
from ..run import pipeline
from ..files.cache import content_key
from ..contract.components import RunContext
from ..errors import ConfigError
from ..contract.params import build_params, check_keys, params_to_dict
from ..contract.registry import Registry

TOP_KEYS = config_mod.SECTIONS + ("sweep", "executor", "ray")
SWEEP_KEYS = ("encoder", "reducer", "model", "seeds", "grid")
EXECUTORS = ("local", "ray")


@dataclass
class RayOptions:
    """Where and with what each combination runs when ``executor: ray``."""

    address: str | None = None  # None: start a local Ray; "auto" or "ray://host:10001": join a cluster
    num_cpus: float = 1.0  # per combination (Ray task)
    num_gpus: float = 0.0  # per combination; e.g. 1 or 0.5 to pack two runs on a GPU
    runtime_env: dict | None = None  # passed to ray.init (e.g. env_vars, py_modules)


@dataclass
class SweepSpec:
    base: dict  # run-config sections shared by every combination
    encoders: list[dict]
    reducers: list[dict]
    models: list[dict]
    seeds: list[int] | None
    grid: dict[str, list]
    executor: str = "local"
    ray: RayOptions = field(default_factory=RayOptions)
    source: str = "<sweep>"


@dataclass
class PlannedRun:
    """One run of the sweep: a resolved config (a seed included) and its hash, the leaderboard's key."""

    resolved: pipeline.Resolved
    config_hash: str

    @property
    def label(self) -> str:
        r = self.resolved
        return f"{r.encoder.name}/{r.reducer.name}/{r.model.name} seed={r.train.seed}"

    def stage_key(self, *sections: str) -> str:
        """The part of the config that ``sections`` read: runs with equal keys share that stage."""
        d = self.resolved.as_dict()
        return json.dumps([d[s] for s in sections], sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------- the file


def _set_path(raw: dict, dotted: str, value, source: str) -> None:
    node, parts = raw, dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{source}: '{dotted}': '{part}' is not a section")
    node[parts[-1]] = value


def apply_override(raw: dict, assignment: str, source: str, extra: tuple[str, ...] = ("sweep", "executor", "ray")) -> None:
    """``--set`` for sweep (and search) files: run sections as in ``mmbench run``, plus the ``extra`` ones."""
    key = assignment.split("=", 1)[0].strip()
    if key.split(".")[0] in extra and "=" in assignment:
        _set_path(raw, key, config_mod._parse_scalar(assignment.split("=", 1)[1], key), source)
    else:
        config_mod.apply_override(raw, assignment, source)


def _entries(raw: dict, sweep: dict, section: str, source: str) -> list[dict]:
    base = raw.get(section) or {}
    listed = sweep.get(section)
    if listed is None:
        if not isinstance(base, dict) or not isinstance(base.get("name"), str):
            raise ConfigError(f"{source}: give a section '{section}: {{name: ...}}' or a list 'sweep.{section}: [...]'")
        return [copy.deepcopy(base)]
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f"{source}: sweep.{section} must be a non-empty list, e.g. [{{name: ...}}, ...]")
    out = []
    for i, entry in enumerate(listed):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{source}: sweep.{section}[{i}] needs a 'name' (got {entry!r})")
        # an entry naming the same component as the base section inherits the base's parameters
        merged = {**base, **entry} if isinstance(base, dict) and base.get("name") == entry["name"] else entry
        out.append(copy.deepcopy(merged))
    return out


def from_dict(raw: dict, source: str = "<sweep>") -> SweepSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with run sections and a 'sweep:' section")
    check_keys(raw, TOP_KEYS, source, "top-level key")
    sweep = raw.get("sweep") or {}
    if not isinstance(sweep, dict):
        raise ConfigError(f"{source}: 'sweep' must be a mapping with keys {', '.join(SWEEP_KEYS)}")
    check_keys(sweep, SWEEP_KEYS, source, prefix="sweep.")
    if not isinstance((raw.get("dataset") or {}).get("name"), str):
        raise ConfigError(f"{source}: section 'dataset' needs a 'name'")
    seeds = sweep.get("seeds")
    if seeds is not None and (not isinstance(seeds, list) or not seeds
                              or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise ConfigError(f"{source}: sweep.seeds must be a non-empty list of integers, got {seeds!r}")
    grid = sweep.get("grid") or {}
    if not isinstance(grid, dict):
        raise ConfigError(f"{source}: sweep.grid must map 'section.key' to a list of values")
    for key, values in grid.items():
        section = str(key).split(".")[0]
        if section not in config_mod.SECTIONS or "." not in str(key):
            raise ConfigError(f"{source}: sweep.grid key '{key}' must be 'section.key' with section one of "
                              f"{', '.join(config_mod.SECTIONS)}, e.g. train.lr")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{key} must be a non-empty list of values")
    executor = raw.get("executor", "local")
    if executor not in EXECUTORS:
        raise ConfigError(f"{source}: executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    ray_opts = build_params(RayOptions, raw.get("ray") or {}, f"{source}: ray")
    base = {s: copy.deepcopy(raw[s]) for s in config_mod.SECTIONS if raw.get(s) is not None}
    return SweepSpec(base, _entries(raw, sweep, "encoder", source), _entries(raw, sweep, "reducer", source),
                     _entries(raw, sweep, "model", source), seeds, grid, executor, ray_opts, source)


def load(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    raw = config_mod.read_yaml(path, "sweep file")
    for assignment in overrides or []:
        apply_override(raw, assignment, str(path))
    return from_dict(raw, str(path))


# ------------------------------------------------------------------------------------ the product


def _grid_applies(key: str, raw: dict, registry: Registry) -> bool:
    """A grid key of a component section applies only to components that have that parameter
    (``reducer.dim`` changes pca and learned, not none); train keys apply to every combination."""
    section, field_name = key.split(".")[:2]
    if section == "train":
        return True
    params_cls = registry.get(section, raw[section]["name"]).params_cls
    return params_cls is not None and field_name in {f.name for f in dataclasses.fields(params_cls)}


def expand(spec: SweepSpec, registry: Registry) -> list[PlannedRun]:
    """Every run, validated against its plugins (a wrong key stops the sweep before it starts), without
    duplicates (two grid points that resolve to the same config are one run)."""
    keys = list(spec.grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*(spec.grid[k] for k in keys))]
    seeds = spec.seeds if spec.seeds is not None else [None]
    combos, seen = [], set()
    for enc, red, model, point, seed in itertools.product(spec.encoders, spec.reducers, spec.models, points, seeds):
        raw = {"dataset": copy.deepcopy(spec.base["dataset"]), "encoder": copy.deepcopy(enc),
               "reducer": copy.deepcopy(red), "model": copy.deepcopy(model),
               "train": copy.deepcopy(spec.base.get("train") or {})}
        for key, value in point.items():
            if _grid_applies(key, raw, registry):
                _set_path(raw, key, copy.deepcopy(value), spec.source)
        if seed is not None:
            raw["train"]["seed"] = seed
        where = f"{spec.source} [{enc['name']}/{red['name']}/{model['name']}]"
        resolved = pipeline.resolve(config_mod.from_dict(raw, where), registry)
        h = resolved.config_hash()
        if h not in seen:
            seen.add(h)
            combos.append(PlannedRun(resolved, h))
    return combos


def grouped(runs: list[PlannedRun], *sections: str) -> list[list[PlannedRun]]:
    """``runs`` grouped by their config ``sections`` (the stages they share), in first-seen order."""
    groups: dict[str, list[PlannedRun]] = {}
    for r in runs:
        groups.setdefault(r.stage_key(*sections), []).append(r)
    return list(groups.values())


def describe_plan(todo: list[PlannedRun], done_count: int, data, ctx: RunContext, log: Callable[[str], None]) -> None:
    """What a dry run prints: per encoder and reducer, whether its stage is cached, and the runs on it."""
    log(f"dataset {data.dataset_id}: {len(todo) + done_count} combinations, {done_count} already recorded, "
        f"{len(todo)} to run")
    for enc_group in grouped(todo, "encoder"):
        r = enc_group[0].resolved
        enc_inputs = pipeline.encode_inputs(r, data)
        enc_state = "cached" if ctx.cache.has(content_key(enc_inputs)) else "to compute"
        log(f"  encoder {r.encoder.name} {json.dumps(params_to_dict(r.encoder.params), default=str)}: "
            f"embeddings {enc_state}")
        for red_group in grouped(enc_group, "encoder", "reducer"):
            rr = red_group[0].resolved
            if rr.reducer.component.factory.trains:
                red_state = "trainable (trained inside each model)"
            else:
                red_key = content_key(pipeline.reduce_inputs(rr, enc_inputs))
                red_state = "cached" if ctx.cache.has(red_key) else "to compute"
            log(f"    reducer {rr.reducer.name} {json.dumps(params_to_dict(rr.reducer.params), default=str)}: "
                f"{red_state}; {len(red_group)} run(s)")
            for c in red_group:
                log(f"      {c.config_hash}  {c.label}")
