"""Everything a plugin author imports, from one module:

    from mmbench.plugin import Encoder, Encoded, bounded, hookimpl

The hook marker, the component bases (an experiment ``Tracker`` among them) and the values they hand back (mmbench/contract/components.py), the data
types they receive (mmbench/data/types.py), the parameter helpers (mmbench/contract/params.py), what a model declares about other code of the same function (mmbench/contract/counterparts.py), the trackers' helpers (mmbench/contract/tracking.py) and the errors
that become one-line messages (mmbench/errors.py). ``Model`` and ``FeatureSpec`` build on torch and are
imported on first use, so a plugin module that only registers an encoder does not pay for torch.
"""
from __future__ import annotations

from . import hookimpl
from .contract.components import (
    API_VERSION,
    Dataset,
    Encoded,
    Encoder,
    FixedReducer,
    Reduced,
    Reducer,
    RunContext,
    Tracker,
    TrainableReducer,
    ValidPredictions,
    train_defaults,
)
from .contract.counterparts import AuthorsCode, Peer
from .data.types import ItemTable, MMCTRData, Split
from .errors import ConfigError, DataError, MMBenchError, PluginError
from .contract.params import WIDTH, Bounds, added_later, bounded, check_bounds, declare_bounds
from .contract.tracking import flat_params, learning_curve

_LAZY = {"Model": "contract.components", "FeatureSpec": "contract.features"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__package__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["API_VERSION", "AuthorsCode", "Bounds", "ConfigError", "DataError", "Dataset", "Encoded", "Encoder", "FeatureSpec",
           "FixedReducer", "ItemTable", "MMBenchError", "MMCTRData", "Model", "Peer", "PluginError", "Reduced", "Reducer",
           "RunContext", "Split", "Tracker", "TrainableReducer", "ValidPredictions", "WIDTH", "added_later", "bounded", "flat_params", "learning_curve",
           "check_bounds", "declare_bounds", "hookimpl", "train_defaults"]
