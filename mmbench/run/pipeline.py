"""One run as a flow of values: each stage returns what the next one needs, nothing travels on the side.

    resolve(config, registry)                  -> Resolved    the config, validated against the plugins
    load_data(resolved.dataset, ctx)           -> MMCTRData
    encode_items(resolved, data, ctx)          -> Encoding    item vectors + stats + cache key   (cached)
    reduce_items(resolved, encoding, ctx)      -> Reduction   table [+ codes] [+ trainable reducer] (cached)
    train_model(resolved, data, reduction, cb) -> Trained     model + TrainResult (+ valid probabilities)
    make_row(resolved, data, encoding, trained) -> Row

``run`` chains them for ``mmbench run``; a sweep calls the same stages and shares the expensive ones
(encoding, reduction) across the models trained on them. docs/architecture.md draws the flow.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..contract import tracking
from ..files.cache import MAIN, content_key
from .callbacks import RunCallbacks
from ..contract.components import Encoded, Reduced, RunContext, TrainableReducer, ValidPredictions
from .config import COMPONENT_SECTIONS, RunConfig
from .costs import PeakMemory, device_name, per_second
from ..data.types import MMCTRData
from ..errors import PluginError, one_line, warn
from ..contract.features import FeatureSpec, ItemVectors
from ..contract.params import build_params, params_to_dict
from ..contract.registry import Configured, Registry
from .row import Row
from .trainer import (
    NOT_IN_HASH,
    TrainParams,
    TrainResult,
    build_and_fit,
    kept_rng,
    predict,
    resident_tensors,
    resolve_device,
)


@dataclass
class Resolved:
    """A run config whose sections were validated against their plugins' Params."""

    config: RunConfig
    dataset: Configured
    encoder: Configured
    reducer: Configured
    model: Configured | None  # None where only item vectors are made (ITEM_SECTIONS)
    train: TrainParams

    def as_dict(self) -> dict:
        out = {section: getattr(self, section).as_dict() for section in COMPONENT_SECTIONS}
        # params_to_dict: a train setting declared added_later stays out while at its default
        out["train"] = {k: v for k, v in params_to_dict(self.train).items() if k not in NOT_IN_HASH}
        return out

    def config_hash(self) -> str:
        return content_key(self.as_dict())[:12]

    def recorded_dict(self) -> dict:
        """The config as a run records it: ``as_dict`` plus every train setting it leaves out (added_later,
        at mmbench's default) that the model's own train defaults would not give back when the record is
        resolved again, so that a recorded config always resolves to the run's own hash."""
        out = self.as_dict()
        model_defaults = self.model.component.train_defaults if self.model else {}
        for key, value in params_to_dict(self.train, keep_added_later=True).items():
            if key not in out["train"] and key not in NOT_IN_HASH and key in model_defaults \
                    and model_defaults[key] != value:
                out["train"][key] = value
        return out

    def before_training(self, data: MMCTRData, reduction: "Reduction", ctx: RunContext):
        """(data, reduction) the model is trained on: the reduction as is, unless a route changes it
        (Task 1 trains on the embedding as written into its own copy of the data: mmbench/challenge/task1.py)."""
        return data, reduction


#: the sections that make the item vectors: all that export-embeddings resolves (it trains no model)
ITEM_SECTIONS = ("dataset", "encoder", "reducer")


def resolve(config: RunConfig, registry: Registry, sections_used: tuple[str, ...] = COMPONENT_SECTIONS) -> Resolved:
    """Validate the config's sections against their plugins; a section not in ``sections_used`` is
    neither validated nor resolved (None)."""
    sections = dict.fromkeys(COMPONENT_SECTIONS)
    for section in sections_used:
        name = config.section(section)["name"]
        sections[section] = registry.configure(section, name, config.component_params(section),
                                               f"{config.source}: {section} ({name})")
    model_defaults = sections["model"].component.train_defaults if sections["model"] else {}
    train_given = {**model_defaults, **config.train}
    train = build_params(TrainParams, train_given, f"{config.source}: train")
    tracking.check(train.track, registry.tracker_names(), f"{config.source}: train")
    return Resolved(config, **sections, train=train)


# ------------------------------------------------------------------------------------------ data


def load_data(dataset: Configured, ctx: RunContext) -> MMCTRData:
    with ctx.events.stage("data", dataset=dataset.name) as end:
        data = dataset.component.call("to load", dataset.create().load, ctx)
        end.update(id=data.dataset_id, rows=f"{len(data.train):,} train / {len(data.valid):,} valid",
                   items=f"{data.items.n_items - 1:,}")
    return data


# -------------------------------------------------------------------------------------- encoding


@dataclass
class Encoding:
    """The encode stage's output: float32 (n_items, d) vectors, row 0 zero, and what produced them."""

    vectors: np.ndarray
    stats: dict  # the encoder's counts (missing_images, ...), kept in the cache with the vectors
    cache_inputs: dict  # what the vectors depend on; the reduction's cache key includes its hash
    cache_hit: bool = False
    seconds: float = 0.0


def encode_inputs(resolved: Resolved, data: MMCTRData, encoder=None) -> dict:
    """What an encoder's vectors depend on: its cache key's inputs."""
    enc = resolved.encoder
    encoder = encoder or enc.create()
    inputs = {
        "stage": "encode",
        "encoder": enc.name,
        "encoder_version": enc.component.factory.VERSION,
        "params": params_to_dict(enc.params),
        "items": data.items.fingerprint(),
    }
    if encoder.uses_interactions():  # e.g. co-click fine-tuning reads the training histories
        inputs["train_histories"] = data.train.history_fingerprint()
    return inputs


def _check_vectors(vecs, n_items: int, who: str) -> np.ndarray:
    if not isinstance(vecs, np.ndarray) or vecs.ndim != 2 or vecs.shape[0] != n_items:
        shape = getattr(vecs, "shape", type(vecs).__name__)
        raise PluginError(f"{who} returned {shape}; expected a float32 array of shape ({n_items}, d)")
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    if not np.isfinite(vecs).all():
        raise PluginError(f"{who} returned NaN or inf values")
    vecs[0] = 0.0  # padding row stays zero whatever the plugin did
    return vecs


def encode_items(resolved: Resolved, data: MMCTRData, ctx: RunContext) -> Encoding:
    enc = resolved.encoder
    encoder = enc.create()
    inputs = encode_inputs(resolved, data, encoder)
    t0 = time.perf_counter()

    def compute():
        extra = {"train": data.train} if encoder.uses_interactions() else {}
        out = enc.component.call("to encode the items", encoder.encode, data.items, ctx, **extra)
        encoded = out if isinstance(out, Encoded) else Encoded(out)
        return {MAIN: _check_vectors(encoded.vectors, data.items.n_items, f"encoder '{enc.name}'")}, encoded.stats

    with ctx.events.stage("encode", encoder=enc.name) as end:
        arrays, stats, hit = ctx.cache.get_or_compute_entry(inputs, compute, labels={"dataset": data.dataset_id})
        end.update(vectors=f"{arrays[MAIN].shape[1]}-d", cache="hit" if hit else "computed")
    return Encoding(arrays[MAIN], stats, inputs, hit, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------- reduction


@dataclass
class Reduction:
    """The (encoder, reducer) stage's output, shared by every model trained on it.

    ``table`` is the frozen lookup table: the reduced vectors of a fixed reducer (0 wide when it hands
    out codes only), the encoder's vectors for a trainable one, whose fitted reducer then gives each
    model a fresh layer. ``codes`` (n_items, L) with ``code_vocab`` come from a reducer that hands out codes.
    """

    table: np.ndarray
    codes: np.ndarray | None = None
    code_vocab: tuple[int, ...] = ()
    trainable: TrainableReducer | None = None
    reducer: Configured | None = None  # who made it (names the plugin when its layer fails)
    cache_hit: bool = False
    seconds: float = 0.0

    def item_vectors(self) -> ItemVectors:
        """A fresh lookup per model: the frozen table, followed by a new trainable layer if any."""
        layer = None
        if self.trainable is not None:
            layer = self.reducer.component.call("to make its layer", self.trainable.module, self.table.shape[1])
        return ItemVectors(self.table, layer)

    def feature_spec(self, data: MMCTRData, vectors: ItemVectors) -> FeatureSpec:
        return FeatureSpec.from_data(data, vectors, self.codes, self.code_vocab)


def reduce_inputs(resolved: Resolved, encoding_inputs: dict) -> dict:
    red = resolved.reducer
    return {"stage": "reduce", "reducer": red.name, "reducer_version": red.component.factory.VERSION,
            "params": params_to_dict(red.params), "vectors": content_key(encoding_inputs)}


def _check_codes(reduced: Reduced, n_items: int, who: str) -> np.ndarray:
    codes, vocab = reduced.codes, reduced.code_vocab
    if (not isinstance(codes, np.ndarray) or codes.ndim != 2 or codes.shape[0] != n_items
            or not np.issubdtype(codes.dtype, np.integer) or len(vocab) != codes.shape[1]):
        raise PluginError(f"{who} returned codes of shape {getattr(codes, 'shape', None)} with code_vocab {vocab}; "
                          f"expected integers of shape ({n_items}, L) and L vocabulary sizes")
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    codes[0] = 0  # the padding item's code is 0 at every level
    if codes.size and ((codes < 0).any() or (codes >= np.asarray(vocab)).any()):
        raise PluginError(f"{who} returned codes outside [0, code_vocab) = {tuple(vocab)}")
    return codes


def _reduced_arrays(out, n_items: int, who: str) -> tuple[dict, dict]:
    """A fixed reducer's output as cache entry: (arrays, info)."""
    reduced = out if isinstance(out, Reduced) else Reduced(vectors=out)
    if reduced.vectors is None and reduced.codes is None:
        raise PluginError(f"{who} returned neither vectors nor codes")
    vectors = (np.zeros((n_items, 0), np.float32) if reduced.vectors is None
               else _check_vectors(reduced.vectors, n_items, who))
    arrays = {MAIN: vectors}
    if reduced.codes is None:
        return arrays, {}
    arrays["codes"] = _check_codes(reduced, n_items, who)
    return arrays, {"code_vocab": [int(v) for v in reduced.code_vocab]}


def reduce_items(resolved: Resolved, encoding: Encoding, ctx: RunContext) -> Reduction:
    """Fit the reducer once: a cached reduced table (and codes), or a fitted trainable reducer."""
    red = resolved.reducer
    reducer = red.create()
    with ctx.events.stage("reduce", reducer=red.name) as end:
        reduction = _reduce(red, reducer, encoding, reduce_inputs(resolved, encoding.cache_inputs), ctx)
        end.update(table=f"{reduction.table.shape[1]}-d", cache="hit" if reduction.cache_hit else "computed")
        if reduction.codes is not None:
            end["codes"] = f"{reduction.codes.shape[1]} levels"
    return reduction


def _reduce(red: Configured, reducer, encoding: Encoding, inputs: dict, ctx: RunContext) -> Reduction:
    vecs = encoding.vectors
    t0 = time.perf_counter()
    # fit on real items only: the padding row would pull the mean towards zero
    if reducer.trains:  # e.g. PCA initialisation of a learned projection
        red.component.call("to fit", reducer.fit, vecs[1:])
        return Reduction(vecs, trainable=reducer, reducer=red, seconds=time.perf_counter() - t0)

    def compute():
        red.component.call("to fit", reducer.fit, vecs[1:])
        return _reduced_arrays(red.component.call("to apply", reducer.apply, vecs), vecs.shape[0],
                               f"reducer '{red.name}'")

    arrays, info, hit = ctx.cache.get_or_compute_entry(inputs, compute)
    return Reduction(arrays[MAIN], arrays.get("codes"), tuple(info.get("code_vocab", ())), None, red, hit,
                     time.perf_counter() - t0)


# -------------------------------------------------------------------------------------- training


def build_model(resolved: Resolved, data: MMCTRData, reduction: Reduction) -> nn.Module:
    with kept_rng():  # the trainable layer's initial weights: a draw of their own from the seed's state
        vectors = reduction.item_vectors()
    return resolved.model.create(reduction.feature_spec(data, vectors))


@dataclass
class Trained:
    model: nn.Module
    result: TrainResult  # metrics of the restored best epoch, with its valid probabilities
    peak_memory_mb: float | str = ""  # while building and training: RSS on CPU, max allocated on a GPU


def train_model(resolved: Resolved, data: MMCTRData, reduction: Reduction,
                callbacks: RunCallbacks | None = None) -> Trained:
    """Build and train one model on a prepared reduction (seeded by ``train.seed``: see build_and_fit)."""
    memory = PeakMemory(resolve_device(resolved.train.device)).start()
    model, result = resolved.model.component.call(
        "in training", build_and_fit, lambda: build_model(resolved, data, reduction), data.train, data.valid,
        resolved.train, callbacks)
    return Trained(model, result, round(memory.stop(), 1))


def saved_predictions(resolved: Resolved, data: MMCTRData, trained: Trained) -> ValidPredictions:
    """What a run keeps beside its row: the valid predictions of the restored best epoch and, where the
    data root holds its test split's labels (a synthetic world's ``synth_truth/test.parquet``), the
    test split's predictions by the same weights, so subset reports can pool valid and test users
    (``MMCTRData.test_labels``, read by the loader: mmbench/data/truth.py)."""
    saved = ValidPredictions(trained.result.valid_probs, data.valid.label)
    labels = data.test_labels
    if labels is not None:
        first = next(iter(trained.model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
        try:
            saved.test_probs = predict(trained.model, resident_tensors(data.test, device),
                                       resolved.train.eval_batch_size, resolved.train.amp)
        except Exception as exc:  # the run and its valid predictions stand without them
            warn(f"the test split of {data.dataset_id} could not be predicted ({one_line(exc)}); this run's row is "
                 "recorded without test predictions")
            return saved
        saved.test_labels = labels
    return saved


# --------------------------------------------------------------------------------------- the row


@dataclass
class Finished:
    """A run's end: its row (``status`` ok or failed) and, when it trained, the model and the saved
    predictions (valid, and test where the data knows its labels)."""

    row: Row
    valid: ValidPredictions | None = None
    trained: Trained | None = None


def finish(resolved: Resolved, data: MMCTRData, reduction: Reduction, encoding: Encoding,
           callbacks: RunCallbacks | None = None, passes: tuple[type[BaseException], ...] = ()) -> Finished:
    """Train on a prepared reduction, make the row, keep the predictions: the one way every route (run,
    each run of a sweep, each trial of a study) finishes a run. A failure of the run itself becomes a
    failed row; ``passes`` are exceptions the caller handles (a pruned trial), Ctrl-C always stops."""
    try:
        trained = train_model(resolved, data, reduction, callbacks)
        return Finished(make_row(resolved, data, encoding, trained), saved_predictions(resolved, data, trained),
                        trained)
    except passes:
        raise
    except Exception as exc:
        return Finished(Row.failed(resolved, data.dataset_id, one_line(exc)))


def make_row(resolved: Resolved, data: MMCTRData, encoding: Encoding, trained: Trained) -> Row:
    r = trained.result
    device = resolve_device(resolved.train.device)
    return Row.of(
        resolved, data.dataset_id,
        valid_auc=r.valid["auc"], valid_logloss=r.valid["logloss"], valid_gauc=r.valid.get("gauc", float("nan")),
        epochs=r.epochs_run, best_epoch=r.best_epoch, encode_seconds=round(encoding.seconds, 3),
        train_seconds=round(r.train_seconds, 3), samples_per_second=round(r.samples_per_second, 1),
        # a cache hit did not encode: no rate rather than the rate of reading the cache
        encode_items_per_second="" if encoding.cache_hit else per_second(data.items.n_items - 1, encoding.seconds),
        params=r.n_params, peak_memory_mb=trained.peak_memory_mb, device=str(device),
        device_name=device_name(device),
        oracle_auc=data.oracle_auc if data.oracle_auc is not None else "",
        missing_images=encoding.stats.get("missing_images", ""), missing_titles=encoding.stats.get("missing_titles", ""),
    )


@dataclass
class RunResult:
    row: Row
    model: nn.Module
    result: TrainResult
    encoding: Encoding
    valid: ValidPredictions
    data: MMCTRData | None = None  # what the model was trained on


@dataclass
class Staged:
    """Everything a run needs before it trains: its data (as the model sees it), its item vectors and
    their reduction."""

    data: MMCTRData
    encoding: Encoding
    reduction: Reduction


def prepare(resolved: Resolved, ctx: RunContext, callbacks: RunCallbacks | None = None) -> Staged:
    """Load → encode → reduce → ``before_training``: the first half of the one lifecycle. ``run`` and
    ``predict`` go on from here (``finish``; the checkpoint's weights), ``export-embeddings`` writes the
    reduction; a sweep and a search call the same stages themselves, to share each encoding and
    reduction among the runs that use it."""
    callbacks = callbacks or RunCallbacks()
    data = load_data(resolved.dataset, ctx)
    callbacks.on_data_loaded(data)
    encoding = encode_items(resolved, data, ctx)
    reduction = reduce_items(resolved, encoding, ctx)
    data, reduction = resolved.before_training(data, reduction, ctx)
    return Staged(data, encoding, reduction)


def run(resolved: Resolved, ctx: RunContext, callbacks: RunCallbacks | None = None) -> RunResult:
    """One run: ``prepare``, then ``finish``; an error stops it (the command reports it; a sweep or a
    search records a failed row instead). Writing the row is the caller's (the leaderboard store)."""
    callbacks = callbacks or RunCallbacks()
    callbacks.on_run_start(resolved)
    staged = None
    try:
        staged = prepare(resolved, ctx, callbacks)
        with ctx.events.stage("train", model=resolved.model.name) as end:
            finished = finish(resolved, staged.data, staged.reduction, staged.encoding, callbacks, passes=(Exception,))
            result = finished.trained.result
            end.update(epochs=result.epochs_run, best_epoch=result.best_epoch, valid_auc=f"{result.valid['auc']:.4f}")
    except Exception as exc:
        dataset_id = staged.data.dataset_id if staged is not None else resolved.dataset.name
        callbacks.on_run_end(resolved, Row.failed(resolved, dataset_id, one_line(exc)), None)
        raise
    callbacks.on_run_end(resolved, finished.row, finished.valid)
    return RunResult(finished.row, finished.trained.model, finished.trained.result, staged.encoding, finished.valid,
                     staged.data)
