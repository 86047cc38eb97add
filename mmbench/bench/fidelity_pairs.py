"""The pairs ``bench fidelity`` compares (each zoo model's ``AUTHORS_CODE``: which authors' experiment, and
how its params map onto the model's) and the zoo trainer's settings from the authors' FuxiCTR params."""
from __future__ import annotations

from dataclasses import dataclass

from ..contract.counterparts import AuthorsCode
from .declared import model_classes

FUXICTR_LR_FLOOR = 1e-6  # FuxiCTR's lr_decay never goes below it


@dataclass(frozen=True)
class Pair:
    """A zoo model and an authors' experiment it declares (``Model.AUTHORS_CODE``)."""

    zoo_model: str
    code: AuthorsCode


def pairs() -> dict[str, Pair]:
    """--pair name -> Pair, from the registered models."""
    return {code.name: Pair(model, code) for model, cls in model_classes() for code in cls.AUTHORS_CODE}


def train_params(p: dict, epochs: int, seed: int, threads: int, rng: str) -> dict:
    """The zoo trainer's settings from the authors' FuxiCTR params (FuxiCTR's defaults where unset)."""
    monitor = p.get("monitor", "AUC")
    return {"lr": p["learning_rate"], "optimizer": str(p.get("optimizer", "adam")).lower(),
            "embedding_reg": float(p.get("embedding_regularizer") or 0.0),
            "net_reg": float(p.get("net_regularizer") or 0.0), "batch_size": p["batch_size"],
            "patience": p.get("early_stop_patience", 2), "plateau_lr_factor": p.get("factor", 0.1),
            "min_lr": FUXICTR_LR_FLOOR, "grad_clip": 10.0, "epochs": epochs, "seed": seed, "threads": threads,
            "loss": "sigmoid",  # FuxiCTR's binary_crossentropy on the sigmoid output
            "projection_reg": "embedding",  # FuxiCTR's embedding_regularizer covers the vector's projection
            # FuxiCTR trains on from where its build left the generator: "split" replays no init draws
            "rng": rng,
            "monitor": "auc" if "AUC" in (monitor if isinstance(monitor, (str, dict)) else "AUC") else "logloss"}
