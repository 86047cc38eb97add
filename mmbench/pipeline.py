"""One run: data → item vectors (cached) → reducer → model → training → leaderboard row.

Each stage is a function of its own so that sweeps can share the expensive ones (encoding,
reduction) across many models.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .cache import ArrayCache, content_key
from .config import RunConfig, load_defaults  # noqa: F401  (re-exported for models)
from .data import mmbench_home
from .data.types import MMCTRData
from .errors import MMBenchError, PluginError
from .features import FeatureSpec, ItemVectors
from .params import build_params, params_to_dict
from .registry import Registry
from .trainer import Callbacks, TrainParams, TrainResult, fit, predict, resident_tensors, resolve_device, seed_everything


@dataclass
class RunContext:
    """Handed to plugins: where mmbench keeps its files, the device, and a console for progress."""

    home: Path = field(default_factory=mmbench_home)
    device: str = "auto"
    console: object | None = None
    progress: object | None = None  # a rich Progress, when the CLI shows one
    stats: dict = field(default_factory=dict)  # encoders report counts here (missing_images, ...)
    data: MMCTRData | None = None  # the loaded dataset, for encoders that learn from histories (fine-tuning)

    @property
    def cache(self) -> ArrayCache:
        return ArrayCache(self.home / "cache")


@dataclass
class Resolved:
    """A config whose component sections were validated against their plugins' Params."""

    config: RunConfig
    dataset: tuple  # (Component, params)
    encoder: tuple
    reducer: tuple
    model: tuple
    train: TrainParams

    def as_dict(self) -> dict:
        out = {}
        for section in ("dataset", "encoder", "reducer", "model"):
            comp, params = getattr(self, section)
            out[section] = {"name": comp.name, **params_to_dict(params)}
        out["train"] = dataclasses.asdict(self.train)
        return out

    def config_hash(self) -> str:
        return content_key(self.as_dict())[:12]


def model_defaults(factory) -> dict:
    """``{'params': {...}, 'train': {...}}`` from the model folder's config.yaml (FuxiCTR-style)."""
    return getattr(factory, "DEFAULTS", None) or {}


def resolve(config: RunConfig, registry: Registry) -> Resolved:
    out = {}
    for section in ("dataset", "encoder", "reducer", "model"):
        name = config.section(section)["name"]
        comp = registry.get(section, name)
        given = config.component_params(section)
        if section == "model":
            given = {**model_defaults(comp.factory).get("params", {}), **given}
        params = build_params(comp.params_cls, given, f"{config.source}: {section} ({name})")
        out[section] = (comp, params)
    train_given = {**model_defaults(out["model"][0].factory).get("train", {}), **config.train}
    train = build_params(TrainParams, train_given, f"{config.source}: train")
    return Resolved(config, out["dataset"], out["encoder"], out["reducer"], out["model"], train)


def plugin_call(comp, doing: str, fn, *args):
    """Run plugin code; an exception that is not an MMBenchError becomes one line naming the plugin."""
    try:
        return fn(*args)
    except MMBenchError:
        raise
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        text = lines[0].strip() if lines else ""  # the first line: one clear message, the rest is detail
        raise PluginError(
            f"{comp.kind} '{comp.name}' ({comp.distribution} {comp.version}".rstrip() + f") failed {doing}: "
            f"{type(exc).__name__}: {text} (a bug in the plugin; MMBENCH_DEBUG=1 shows the traceback)"
        ) from exc


def load_data(resolved: Resolved, ctx: RunContext) -> MMCTRData:
    comp, params = resolved.dataset
    return plugin_call(comp, "to load", lambda: comp.factory().load(params, ctx))


def _check_vectors(vecs, n_items: int, who: str) -> np.ndarray:
    if not isinstance(vecs, np.ndarray) or vecs.ndim != 2 or vecs.shape[0] != n_items:
        shape = getattr(vecs, "shape", type(vecs).__name__)
        raise PluginError(f"{who} returned {shape}; expected a float32 array of shape ({n_items}, d)")
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    if not np.isfinite(vecs).all():
        raise PluginError(f"{who} returned NaN or inf values")
    vecs[0] = 0.0  # padding row stays zero whatever the plugin did
    return vecs


def encode_inputs(resolved: Resolved, data: MMCTRData) -> dict:
    """What an encoder's vectors depend on: its cache key's inputs."""
    comp, params = resolved.encoder
    inputs = {
        "stage": "encode",
        "encoder": comp.name,
        "encoder_version": getattr(comp.factory, "VERSION", 1),
        "params": params_to_dict(params),
        "items": data.items.fingerprint(),
    }
    extra = getattr(comp.factory, "cache_inputs", None)  # e.g. training histories, for co-click fine-tuning
    if extra is not None:
        inputs.update(extra(params, data))
    return inputs


def encode_items(resolved: Resolved, data: MMCTRData, ctx: RunContext) -> tuple[np.ndarray, bool, float, dict]:
    """(vectors, cache_hit, seconds, cache inputs). Vectors are float32 (n_items, d), row 0 zero."""
    comp, params = resolved.encoder
    inputs = encode_inputs(resolved, data)
    ctx.data = data
    t0 = time.perf_counter()

    def compute():
        vecs = plugin_call(comp, "to encode the items", lambda: comp.factory(params).encode(data.items, ctx))
        return _check_vectors(vecs, data.items.n_items, f"encoder '{comp.name}'")

    vecs, hit = ctx.cache.get_or_compute(inputs, compute)
    return vecs, hit, time.perf_counter() - t0, inputs


@dataclass
class Reduction:
    """The (encoder, reducer) stage's output, shared by every model trained on it.

    ``table`` is the frozen lookup table: already reduced for a fixed reducer, the encoder's vectors
    for a trainable one, whose fitted ``trainable`` reducer then gives each model a fresh layer.
    """

    table: np.ndarray
    trainable: object | None = None
    cache_hit: bool = False
    seconds: float = 0.0

    def item_vectors(self) -> ItemVectors:
        layer = self.trainable.module(self.table.shape[1]) if self.trainable is not None else None  # fresh per model
        return ItemVectors(self.table, layer)


def reduce_inputs(resolved: Resolved, encode_inputs: dict) -> dict:
    comp, params = resolved.reducer
    return {"stage": "reduce", "reducer": comp.name, "reducer_version": getattr(comp.factory, "VERSION", 1),
            "params": params_to_dict(params), "vectors": content_key(encode_inputs)}


def prepare_reduction(resolved: Resolved, vecs: np.ndarray, encode_inputs: dict, ctx: RunContext) -> Reduction:
    """Fit the reducer once: a cached reduced table, or a fitted trainable reducer over the raw table."""
    comp, params = resolved.reducer
    reducer = plugin_call(comp, "to start", comp.factory, params)
    t0 = time.perf_counter()
    if getattr(reducer, "trainable", False):
        if hasattr(reducer, "fit"):  # e.g. PCA initialisation of a learned projection
            plugin_call(comp, "to fit", reducer.fit, vecs[1:])
        return Reduction(vecs, reducer, False, time.perf_counter() - t0)

    def compute():
        # fit on real items only: the padding row would pull the mean towards zero
        plugin_call(comp, "to fit", reducer.fit, vecs[1:])
        return _check_vectors(plugin_call(comp, "to apply", reducer.apply, vecs), vecs.shape[0], f"reducer '{comp.name}'")

    reduced, hit = ctx.cache.get_or_compute(reduce_inputs(resolved, encode_inputs), compute)
    return Reduction(reduced, None, hit, time.perf_counter() - t0)


def reduce_vectors(resolved: Resolved, vecs: np.ndarray, encode_inputs: dict, ctx: RunContext) -> ItemVectors:
    """A frozen table of reduced vectors, or the raw table followed by a trainable reducer module."""
    return prepare_reduction(resolved, vecs, encode_inputs, ctx).item_vectors()


def build_model(resolved: Resolved, data: MMCTRData, item_vectors: ItemVectors):
    comp, params = resolved.model
    spec = FeatureSpec.from_data(data, item_vectors)
    seed_everything(resolved.train.seed)  # weight init is part of what the seed reproduces
    try:
        return comp.factory(spec, params)
    except MMBenchError:
        raise
    except Exception as exc:
        raise PluginError(f"model '{comp.name}' ({comp.distribution}) failed to build: {type(exc).__name__}: {exc}") from exc


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except Exception:
        return ""


def make_row(resolved: Resolved, data: MMCTRData, result: TrainResult, encode_seconds: float, ctx: RunContext) -> dict:
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "dataset": data.dataset_id,
        "encoder": resolved.encoder[0].name,
        "reducer": resolved.reducer[0].name,
        "model": resolved.model[0].name,
        "seed": resolved.train.seed,
        "valid_auc": result.valid["auc"],
        "valid_logloss": result.valid["logloss"],
        "valid_gauc": result.valid.get("gauc", float("nan")),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "encode_seconds": round(encode_seconds, 3),
        "train_seconds": round(result.train_seconds, 3),
        "samples_per_second": round(result.samples_per_second, 1),
        "params": result.n_params,
        "device": str(resolve_device(resolved.train.device)),
        "oracle_auc": data.oracle_auc if data.oracle_auc is not None else "",
        "missing_images": ctx.stats.get("missing_images", ""),
        "missing_titles": ctx.stats.get("missing_titles", ""),
        "status": "ok",
        "error": "",
        "config_hash": resolved.config_hash(),
        "config": json.dumps(resolved.as_dict(), sort_keys=True, default=str),
        "mmbench_version": __version__,
        "git_sha": git_sha(),
    }


@dataclass
class RunOutcome:
    row: dict
    result: TrainResult
    model: object
    encode_cache_hit: bool
    valid_probs: np.ndarray | None = None  # of the restored best epoch, in valid row order
    valid_labels: np.ndarray | None = None


def train_on(resolved: Resolved, data: MMCTRData, reduction: Reduction, callbacks: Callbacks | None = None):
    """Build and train one model on a prepared reduction; returns (model, result, valid probabilities).

    Seeding before the build makes the initial weights (trainable reducer included) a function of
    ``train.seed`` alone, not of whatever ran earlier in the process: a sweep's rows then do not depend
    on the order or the process (local or Ray worker) they ran in.
    """
    seed_everything(resolved.train.seed)
    model = build_model(resolved, data, reduction.item_vectors())
    result = plugin_call(resolved.model[0], "in training", fit, model, data.train, data.valid, resolved.train, callbacks)
    device = resolve_device(resolved.train.device)
    probs = predict(model, resident_tensors(data.valid, device), resolved.train.eval_batch_size, resolved.train.amp)
    return model, result, probs


def run(resolved: Resolved, ctx: RunContext, callbacks: Callbacks | None = None) -> RunOutcome:
    """Everything but writing the leaderboard (the caller decides where rows go)."""
    data = load_data(resolved, ctx)
    vecs, hit, encode_seconds, inputs = encode_items(resolved, data, ctx)
    reduction = prepare_reduction(resolved, vecs, inputs, ctx)
    model, result, probs = train_on(resolved, data, reduction, callbacks)
    return RunOutcome(make_row(resolved, data, result, encode_seconds, ctx), result, model, hit, probs, data.valid.label)
