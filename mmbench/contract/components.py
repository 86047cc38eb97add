"""The plugin contract: one base class per component kind, and the values components hand back.

A component is a class that subclasses one of the bases below and names its ``Params`` dataclass (or
``Params = None``). A plugin registers it through a hook (``mmbench/contract/hookspecs.py``); the registry
validates its config section against ``Params`` and constructs it, always the same way:

    Cls(params)          dataset, encoder, reducer, tracker
    Cls(spec, params)    model: an nn.Module, sized by the data's FeatureSpec

Nothing else is probed: every optional member has its default here. docs/plugins.md walks through a
plugin; docs/architecture.md shows where each stage of a run calls these methods.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..files import yamlfile

from ..files.cache import ArrayCache
from ..data import mmbench_home
from ..data.types import ItemTable, MMCTRData, Split
from ..errors import PluginError
from ..output.events import Events

if TYPE_CHECKING:
    import torch

#: Bumped when a hook or a component contract changes incompatibly. A plugin declares the version it
#: was written for as ``MMBENCH_API_VERSION`` in its module; ``mmbench plugins --check`` reports a mismatch.
#: 2: components subclass the bases of this module; datasets are ``Cls(params).load(ctx)``; encoders
#: return their statistics (``Encoded``) instead of writing them into the context; models take their
#: parameter defaults from ``Params`` alone (config.yaml holds ``train:`` defaults only).
API_VERSION = 2


@dataclass
class RunContext:
    """What a component may use besides its inputs: where mmbench keeps its files and the command's
    event stream (mmbench/output/events.py) for long loops: ``events.task(...)`` or, for code
    written against rich, ``progress`` (rich Progress's add_task / update / remove_task). It carries
    no results between stages."""

    home: Path = field(default_factory=mmbench_home)
    progress: object | None = None
    events: Events = field(default_factory=Events)

    def __post_init__(self):
        if self.progress is None:
            self.progress = self.events.progress

    @property
    def cache(self) -> ArrayCache:
        return ArrayCache(self.home / "cache")


class Dataset(ABC):
    """Loads one dataset into memory: ``Cls(params).load(ctx) -> MMCTRData``."""

    Params: ClassVar[type | None] = None
    #: True for a dataset that can write itself in the challenge layout (a synthetic one): then
    #: ``mmbench data synth`` calls ``generate``
    generates: ClassVar[bool] = False

    def __init__(self, params=None):
        self.params = params

    @abstractmethod
    def load(self, ctx: RunContext) -> MMCTRData:
        """The splits, the item table and the vocabulary sizes (see mmbench/data/types.py)."""

    def generate(self, out: Path) -> dict:
        """Write the dataset its params describe into ``out`` (the challenge layout) and return its facts
        (``oracle.json``); only where ``generates`` is True."""
        raise NotImplementedError(f"{type(self).__name__} does not generate data")


@dataclass
class Encoded:
    """An encoder's output: one vector per item, and counts worth a leaderboard column or a log line
    (``missing_images``, ``missing_titles``, ...). Kept in the cache with the vectors."""

    vectors: np.ndarray  # float32 (n_items, d); row 0 is padding (mmbench zeroes it)
    stats: dict[str, Any] = field(default_factory=dict)


class Encoder(ABC):
    """Turns every item into a vector: ``Cls(params).encode(items, ctx)``.

    mmbench caches the result under a hash of the items, the params and ``VERSION``: bump ``VERSION``
    when the output for the same params changes.
    """

    Params: ClassVar[type | None] = None
    VERSION: ClassVar[int] = 1
    #: True for a control whose vectors carry nothing about the item (the built-in ``random``): the
    #: cold/warm report compares the content encoders against it unless told otherwise
    content_free: ClassVar[bool] = False

    def __init__(self, params=None):
        self.params = params

    def label(self, name: str) -> str:
        """How rows and tables show this encoder, given its registered ``name``. Override to mark a
        setting that must never pass for the real model (e.g. weights built at random)."""
        return name

    def uses_interactions(self) -> bool:
        """True when ``encode`` also learns from the training interactions (e.g. co-click fine-tuning):
        it is then called as ``encode(items, ctx, train=<the train Split>)`` and the cache key covers
        the training histories."""
        return False

    @abstractmethod
    def encode(self, items: ItemTable, ctx: RunContext) -> np.ndarray | Encoded:
        """float32 (n_items, d), or ``Encoded`` with statistics; row 0 (padding) is zeroed by mmbench."""

    def timings(self, items: ItemTable, ctx: RunContext) -> dict | None:
        """For ``mmbench bench encode``: this encoder's parts timed one by one (e.g. cover decoding vs the
        model), with ``items``, ``end_to_end_items_per_s`` and ``end_to_end_seconds``. None (the default):
        mmbench times one ``encode`` end to end."""
        return None


@dataclass
class Reduced:
    """What a fixed reducer hands the models: dense vectors, integer codes, or both.

    ``codes[i, j]`` is item i's code at level j, in ``[0, code_vocab[j])``; row 0 (padding) is all 0.
    Every zoo model embeds the codes as extra item-side features (model_zoo/layers.py).
    """

    vectors: np.ndarray | None = None  # float32 (n_items, k)
    codes: np.ndarray | None = None  # int64 (n_items, L)
    code_vocab: tuple[int, ...] = ()


class Reducer(ABC):
    """Maps the encoder's vectors to what the models see. Subclass ``FixedReducer`` (a map fitted once
    per item table, cached) or ``TrainableReducer`` (a layer trained with each model)."""

    Params: ClassVar[type | None] = None
    VERSION: ClassVar[int] = 1
    #: True for a reducer trained with each model (``TrainableReducer``): it has no fixed item table, so
    #: nothing of it is cached, exported or written as a Task-1 embedding.
    trains: ClassVar[bool] = False

    def __init__(self, params=None):
        self.params = params

    def output_width(self) -> int | None:
        """The width of the vectors it hands the models as far as its params tell before any data (PCA's
        ``dim``); None where the width follows the input (``none``) or it hands out codes only."""
        return None

    def fit(self, vecs: np.ndarray) -> None:
        """Learn from the real items' vectors (row 0, the padding, is left out). Default: nothing."""


class FixedReducer(Reducer):
    @abstractmethod
    def apply(self, vecs: np.ndarray) -> np.ndarray | Reduced:
        """The whole table (row 0 included) → float32 (n_items, k), or a ``Reduced`` with codes."""


class TrainableReducer(Reducer):
    trains = True

    @abstractmethod
    def module(self, in_dim: int) -> torch.nn.Module:
        """A fresh layer per model, (…, in_dim) → (…, out_dim), with an ``out_dim`` attribute; the
        model's optimiser trains it and its weights are saved in the model's checkpoint."""


class Tracker(ABC):
    """An experiment tracker (MLflow, W&B, TensorBoard): one instance per tracked run, made by the registry
    when a run that asks for it (``train.track: NAME`` or ``MMBENCH_TRACK=NAME``) starts, on every route
    (``run``, each run of a sweep, each trial of a search). Whatever the tracker holds for its run (a
    client, a run id, the epochs so far) lives on the instance."""

    Params: ClassVar[type | None] = None

    def __init__(self, params: Any = None):
        self.params = params

    @abstractmethod
    def start(self, run) -> None:
        """The run begins: ``run`` is its ``pipeline.Resolved`` (``run.as_dict()`` the validated config,
        ``run.config_hash()`` its identity). Raise an ``MMBenchError`` to stop it (e.g. a server that
        cannot be reached)."""

    def epoch(self, log) -> None:
        """An epoch ended (``trainer.EpochLog``), where the run trains in the mmbench process (a Ray
        worker's epochs are not relayed to trackers). Default: nothing."""

    @abstractmethod
    def end(self, row, valid) -> None:
        """The run ended: its leaderboard ``Row`` (``row.status`` 'ok' or 'failed') and its
        ``ValidPredictions`` (None for a failed run)."""


def _model_base() -> type:
    """``Model`` is built on first use (``from mmbench.contract.components import Model``): it subclasses
    ``torch.nn.Module``, and importing torch costs seconds that a command which trains nothing (``--help``,
    ``mmbench plugins``) should not pay."""
    from torch import nn

    class Model(nn.Module):
        """A CTR model: ``Cls(spec, params)``, ``forward(batch) -> logits (B,)`` (no sigmoid).

        ``spec`` is a ``mmbench.contract.features.FeatureSpec``: vocabulary sizes and ``item_features`` (id → tags,
        levels, the reduced vector, the codes). ``batch`` holds id tensors ``user_id``, ``item_id``,
        ``item_seq`` (B, 64), ``likes_level``, ``views_level``. ``TRAIN_DEFAULTS`` are the model's ``train:``
        defaults (usually ``train_defaults(__file__)``: the config.yaml beside the module).
        """

        Params: ClassVar[type | None] = None
        TRAIN_DEFAULTS: ClassVar[dict] = {}
        #: the authors' code this model reproduces, for ``bench fidelity`` (``contract.counterparts``)
        AUTHORS_CODE: ClassVar[tuple] = ()
        #: implementations ``bench train --vs`` times beside it
        PEERS: ClassVar[tuple] = ()

        @classmethod
        def flop_count(cls, params: dict, item_seq) -> dict | None:
            """FLOPs per training sample on rows with this history (``{"total", "gemm_width", ...}``, where
            ``gemm_width`` is the width of the dominant square product), for ``bench train``'s floor;
            None where the model does not count them."""
            return None

    Model.__module__, Model.__qualname__ = __name__, "Model"
    return Model


#: kind → the name of the base its components subclass (``base_of(kind)`` gives the class)
BASE_NAMES: dict[str, str] = {"dataset": "Dataset", "encoder": "Encoder", "reducer": "Reducer", "model": "Model",
                              "tracker": "Tracker"}


def base_of(kind: str) -> type:
    """The base class a component of ``kind`` subclasses (the model base imports torch)."""
    name = BASE_NAMES[kind]
    return globals()[name] if name in globals() else __getattr__(name)


def __getattr__(name: str):
    if name == "Model":
        globals()["Model"] = model = _model_base()
        return model
    if name == "BASES":
        return {kind: base_of(kind) for kind in BASE_NAMES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train_defaults(module_file: str, name: str = "config.yaml") -> dict:
    """A model folder's ``train:`` defaults, from the config.yaml beside ``module_file``.

    Model parameter defaults live in the model's ``Params`` dataclass only; a ``params:`` block here
    would be a second copy, so it is refused.
    """
    import yaml

    path = Path(module_file).with_name(name)
    try:
        data = yamlfile.load(path.read_text(encoding="utf-8"), str(path)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise PluginError(f"{path}{where}: {getattr(exc, 'problem', None) or exc}") from None
    unknown = sorted(set(data) - {"train"})
    if unknown:
        raise PluginError(f"{path}: only a 'train:' section belongs here, found {', '.join(unknown)}; "
                          f"model parameter defaults live in the model's Params dataclass")
    return dict(data.get("train") or {})


@dataclass
class ValidPredictions:
    """Click probabilities of the valid split (in row order) by the restored best epoch; where the data
    knows the labels of its test split (a synthetic world), the test split's too, by the same weights."""

    probs: np.ndarray
    labels: np.ndarray
    test_probs: np.ndarray | None = None
    test_labels: np.ndarray | None = None


#: set on the weights of a layer that projects a pretrained (multimodal) item vector
PRETRAINED_PROJECTION = "mmbench_pretrained_projection"


def mark_pretrained_projection(module):
    """Mark ``module`` (e.g. the ``nn.Linear`` over an item's multimodal vector) as the projection of a
    pretrained vector and return it. FuxiCTR keeps that projection inside its FeatureEmbeddingDict, so
    its ``embedding_regularizer`` covers it; ``train.projection_reg: embedding`` does the same here, and
    the default ``net`` regularises it with the other weight matrices (``train.net_reg``)."""
    for param in module.parameters(recurse=False):
        setattr(param, PRETRAINED_PROJECTION, True)
    return module


__all__ = ["API_VERSION", "BASE_NAMES", "BASES", "base_of", "Dataset", "Encoded", "Encoder", "FixedReducer", "Model", "Reduced", "Reducer",
           "RunContext", "Split", "Tracker", "TrainableReducer", "ValidPredictions", "train_defaults",
           "PRETRAINED_PROJECTION", "mark_pretrained_projection"]
