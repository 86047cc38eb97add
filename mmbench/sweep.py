"""Sweeps: every encoder x reducer x model x grid point x seed, each combination recorded exactly once.

Stages are shared: each encoder's vectors are computed once (and cached on disk), each (encoder,
reducer) reduction once, whatever the number of models trained on them. Resuming is by config hash:
a combination whose hash already has a row in the leaderboard CSV is skipped, so a sweep killed at any
moment (SIGKILL included) and started again runs only the rest. The CSV is only ever replaced whole
(temp file + rename, under a file lock), so a kill never leaves a damaged line.

Sweep file = a run config (the base) + ``sweep:`` lists + optional ``executor:`` and ``ray:``; see
docs/sweeps.md.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from . import config as config_mod
from . import leaderboard, pipeline
from .cache import content_key
from .errors import ConfigError, MMBenchError
from .params import build_params, check_keys, params_to_dict
from .registry import Registry

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
class Combination:
    resolved: pipeline.Resolved
    config_hash: str

    @property
    def label(self) -> str:
        r = self.resolved
        return f"{r.encoder[0].name}/{r.reducer[0].name}/{r.model[0].name} seed={r.train.seed}"

    def stage_key(self, *sections: str) -> str:
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


def apply_override(raw: dict, assignment: str, source: str) -> None:
    """``--set`` for sweep files: run sections as in ``mmbench run``, plus sweep./executor/ray."""
    key = assignment.split("=", 1)[0].strip()
    if key.split(".")[0] in ("sweep", "executor", "ray") and "=" in assignment:
        _set_path(raw, key, config_mod._parse_scalar(assignment.split("=", 1)[1]), source)
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


def expand(spec: SweepSpec, registry: Registry) -> list[Combination]:
    """Every combination, validated against its plugins (a wrong key stops the sweep before it starts),
    without duplicates (two grid points that resolve to the same config are one combination)."""
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
            combos.append(Combination(resolved, h))
    return combos


# ------------------------------------------------------------------------------------- the stages


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    return msg if isinstance(exc, MMBenchError) else f"{type(exc).__name__}: {msg}".rstrip(": ")


@dataclass
class Prepared:
    """What every model of one (encoder, reducer) pair trains on, or why that pair failed."""

    reduction: pipeline.Reduction | None
    encode_seconds: float = 0.0
    stats: dict = field(default_factory=dict)
    error: str | None = None


def _ordered_groups(combos: list[Combination], *sections: str) -> list[list[Combination]]:
    groups: dict[str, list[Combination]] = {}
    for c in combos:
        groups.setdefault(c.stage_key(*sections), []).append(c)
    return list(groups.values())


def prepared_stages(todo: list[Combination], data, ctx: pipeline.RunContext, log: Callable[[str], None]):
    """Yield (combinations, Prepared) per (encoder, reducer) pair, one encoder's vectors in memory at a time."""
    for enc_group in _ordered_groups(todo, "encoder"):
        first = enc_group[0].resolved
        ctx.stats.clear()
        try:
            vecs, hit, seconds, inputs = pipeline.encode_items(first, data, ctx)
            log(f"encoder {first.encoder[0].name}: {vecs.shape[1]}-d vectors "
                f"({'cache hit' if hit else f'computed in {seconds:.1f}s'})")
            error = None
        except Exception as exc:  # any plugin failure becomes failed rows; Ctrl-C still stops the sweep
            error = f"encoder {first.encoder[0].name}: {first_line(exc)}"
            log(error)
        stats = dict(ctx.stats)
        for red_group in _ordered_groups(enc_group, "encoder", "reducer"):
            if error:
                yield red_group, Prepared(None, error=error)
                continue
            red = red_group[0].resolved
            try:
                reduction = pipeline.prepare_reduction(red, vecs, inputs, ctx)
            except Exception as exc:
                msg = f"reducer {red.reducer[0].name}: {first_line(exc)}"
                log(msg)
                yield red_group, Prepared(None, error=msg)
                continue
            yield red_group, Prepared(reduction, seconds, stats)
        vecs = None  # noqa: F841  (release before the next encoder's vectors arrive)


def failed_row(resolved: pipeline.Resolved, dataset_id: str, error: str) -> dict:
    row = {c: "" for c in leaderboard.COLUMNS}
    row.update({
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"), "dataset": dataset_id,
        "encoder": resolved.encoder[0].name, "reducer": resolved.reducer[0].name, "model": resolved.model[0].name,
        "seed": resolved.train.seed, "status": "failed", "error": error[:300],
        "config_hash": resolved.config_hash(), "config": json.dumps(resolved.as_dict(), sort_keys=True, default=str),
        "mmbench_version": __version__, "git_sha": pipeline.git_sha(),
    })
    return row


def run_combination(resolved: pipeline.Resolved, data, prep: Prepared) -> tuple[dict, np.ndarray | None]:
    """Train one combination; never raises for a failure of the combination itself (returns a failed row)."""
    if prep.error:
        return failed_row(resolved, data.dataset_id, prep.error), None
    try:
        _, result, probs = pipeline.train_on(resolved, data, prep.reduction)
        ctx = pipeline.RunContext(stats=dict(prep.stats))
        return pipeline.make_row(resolved, data, result, prep.encode_seconds, ctx), probs
    except Exception as exc:
        return failed_row(resolved, data.dataset_id, first_line(exc)), None


# -------------------------------------------------------------------------------------- the sweep


@dataclass
class SweepReport:
    planned: int = 0
    skipped: int = 0  # already recorded
    ran: int = 0
    failed: int = 0
    datasets: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # rows recorded by this invocation


def _describe_plan(todo, done_count, data, ctx, log) -> None:
    log(f"dataset {data.dataset_id}: {len(todo) + done_count} combinations, {done_count} already recorded, "
        f"{len(todo)} to run")
    for enc_group in _ordered_groups(todo, "encoder"):
        r = enc_group[0].resolved
        enc_inputs = pipeline.encode_inputs(r, data)
        enc_state = "cached" if ctx.cache.has(content_key(enc_inputs)) else "to compute"
        log(f"  encoder {r.encoder[0].name} {json.dumps(params_to_dict(r.encoder[1]), default=str)}: "
            f"embeddings {enc_state}")
        for red_group in _ordered_groups(enc_group, "encoder", "reducer"):
            rr = red_group[0].resolved
            if getattr(rr.reducer[0].factory, "trainable", False):
                red_state = "trainable (trained inside each model)"
            else:
                red_key = content_key(pipeline.reduce_inputs(rr, enc_inputs))
                red_state = "cached" if ctx.cache.has(red_key) else "to compute"
            log(f"    reducer {rr.reducer[0].name} {json.dumps(params_to_dict(rr.reducer[1]), default=str)}: "
                f"{red_state}; {len(red_group)} run(s)")
            for c in red_group:
                log(f"      {c.config_hash}  {c.label}")


def run_sweep(
    spec: SweepSpec,
    registry: Registry,
    leaderboard_dir: str | Path,
    *,
    ctx: pipeline.RunContext | None = None,
    executor: str | None = None,
    address: str | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    log: Callable[[str], None] = print,
) -> SweepReport:
    directory = Path(leaderboard_dir)
    ctx = ctx or pipeline.RunContext()
    executor = executor or spec.executor
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    combos = expand(spec, registry)
    report = SweepReport(planned=len(combos))
    for ds_group in _ordered_groups(combos, "dataset"):
        data = pipeline.load_data(ds_group[0].resolved, ctx)
        report.datasets.append(data.dataset_id)
        recorded = leaderboard.recorded_status(directory, data.dataset_id)
        todo = [c for c in ds_group if c.config_hash not in recorded
                or (retry_failed and recorded[c.config_hash] == "failed")]
        report.skipped += len(ds_group) - len(todo)
        if dry_run:
            _describe_plan(todo, len(ds_group) - len(todo), data, ctx, log)
            continue
        labels = data.valid.label

        def record(combo: Combination, row: dict, probs) -> None:
            written = leaderboard.record_row(directory, row, probs, labels)
            if written:
                report.rows.append(row)
                report.ran += 1
                report.failed += row["status"] == "failed"
            outcome = f"AUC {row['valid_auc']:.4f}" if row["status"] == "ok" else f"FAILED: {row['error']}"
            log(f"[{report.skipped + report.ran}/{report.planned}] {combo.config_hash} {combo.label}: {outcome}"
                + ("" if written else " (already recorded by another writer; kept that row)"))

        stages = prepared_stages(todo, data, ctx, log)
        if executor == "ray":
            from .sweep_ray import run_on_ray

            run_on_ray(stages, data, spec.ray, address, record)
        else:
            for group, prep in stages:
                for combo in group:
                    row, probs = run_combination(combo.resolved, data, prep)
                    record(combo, row, probs)
        if todo:
            leaderboard.render(directory, data.dataset_id)
    return report
