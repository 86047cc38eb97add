"""Fakes for sweep tests: tiny models, a counting encoder, a failing model; also a sweep entry point
(``python tests/sweep_fakes.py SWEEP.yaml LEADERBOARD_DIR HOME [--entry-points]``) for tests that run a sweep in a subprocess."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mmbench  # noqa: E402
from fakes import FakePlugin  # noqa: E402
from mmbench.contract.components import Encoder, Model  # noqa: E402


class CountingEncoder(Encoder):
    """The planted topic vectors, plus a projection; counts how often it really encodes."""

    calls = 0

    def encode(self, items, ctx):
        type(self).calls += 1
        vecs = items.load_shipped("", "")
        return np.concatenate([vecs, vecs @ np.random.default_rng(1).standard_normal((vecs.shape[1], 3))], 1)


@dataclass
class ShippedColumnParams:
    column: str = "txt_emb_BERT"
    file: str = "item_feature.parquet"


class ShippedColumnEncoder(Encoder):
    """One embedding column that ships with the data (a stand-in for the encoders branch's ``precomputed``)."""

    Params = ShippedColumnParams

    def encode(self, items, ctx):
        return items.load_shipped(self.params.file, self.params.column)


@dataclass
class PoolParams:
    hidden: int = 8


class MeanPoolModel(Model):
    """Target item vector, mean history vector and their product through a small MLP."""

    Params = PoolParams

    def __init__(self, spec, params):
        super().__init__()
        self.vectors = spec.item_features.vectors
        d = spec.vec_dim
        self.net = nn.Sequential(nn.Linear(3 * d, params.hidden), nn.ReLU(), nn.Linear(params.hidden, 1))

    def forward(self, batch):
        seq = batch["item_seq"].long()
        keep = (seq != 0).unsqueeze(-1).float()
        hist = (self.vectors(seq) * keep).sum(1) / keep.sum(1).clamp(min=1)
        target = self.vectors(batch["item_id"].long())
        return self.net(torch.cat([target, hist, target * hist], -1)).squeeze(-1)


class DotModel(Model):
    """Bilinear score between the target vector and the mean history vector."""

    def __init__(self, spec, params):
        super().__init__()
        self.vectors = spec.item_features.vectors
        self.bilinear = nn.Bilinear(spec.vec_dim, spec.vec_dim, 1)

    def forward(self, batch):
        seq = batch["item_seq"].long()
        keep = (seq != 0).unsqueeze(-1).float()
        hist = (self.vectors(seq) * keep).sum(1) / keep.sum(1).clamp(min=1)
        return self.bilinear(self.vectors(batch["item_id"].long()), hist).squeeze(-1)


class BrokenModel(Model):
    def __init__(self, spec, params):
        super().__init__()
        self.w = nn.Linear(1, 1)

    def forward(self, batch):
        raise RuntimeError("broken_fake always fails\nsecond line that must not reach the row")


class SweepFakePlugin:
    @mmbench.hookimpl
    def register_encoders(self, register):
        register("counting_fake", CountingEncoder)
        register("shipped_column", ShippedColumnEncoder)

    @mmbench.hookimpl
    def register_models(self, register):
        register("pool_fake", MeanPoolModel)
        register("dot_fake", DotModel)
        register("broken_fake", BrokenModel)


def make_registry(entry_points: bool = False):
    """The fakes plus the built-in reducers and attention_dnn, or plus every installed plugin."""
    from mmbench.contract.registry import build_registry, new_plugin_manager
    from mmbench_plugins.reducers import basic, learned
    from mmbench_zoo import attention_dnn

    pm = new_plugin_manager()
    builtins = () if entry_points else (basic, learned, attention_dnn)
    for plugin in (FakePlugin(), SweepFakePlugin(), *builtins):
        pm.register(plugin)
    return build_registry(pm, entry_points=entry_points)


def main(argv: list[str]) -> int:
    from mmbench import sweep
    from mmbench.contract.components import RunContext
    from mmbench.sweep.plan import load

    entry_points = "--entry-points" in argv  # also every installed plugin (real datasets, encoders)
    argv = [a for a in argv if a != "--entry-points"]
    spec = load(argv[0])
    report = sweep.run_sweep(spec, make_registry(entry_points), Path(argv[1]), ctx=RunContext(home=Path(argv[2])))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
