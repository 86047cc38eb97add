"""Which authors' experiment each zoo model is compared with, and how the authors' params map onto the
zoo model's, so that both sides train the same function with the same settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

FUXICTR_LR_FLOOR = 1e-6  # FuxiCTR's lr_decay never goes below it


@dataclass(frozen=True)
class Pair:
    name: str
    zoo_model: str
    authors_model: str  # the class the config names
    repos: str  # where to get the authors' code
    configs: tuple[tuple[str, str | None], ...]  # (config path in the repo, experiment id), first found wins
    model_params: Callable[[dict], dict]
    needs: tuple[str, ...] = ("run_expid.py",)
    fixed: dict = field(default_factory=dict)  # zoo params that reproduce the authors' function
    unsupported: str = ""  # why no zoo configuration reproduces it (the command refuses, saying so)


def _din(p: dict) -> dict:
    return {"embedding_dim": p["embedding_dim"], "attention_hidden": list(p["attention_hidden_units"]),
            "attention_activation": str(p["attention_hidden_activations"]).lower(),
            "attention_dropout": p["attention_dropout"], "use_softmax": bool(p["din_use_softmax"]),
            "dnn_hidden": list(p["dnn_hidden_units"]), "net_dropout": p["net_dropout"],
            "batch_norm": bool(p["batch_norm"])}


def _qin(p: dict) -> dict:
    return {"embedding_dim": p["embedding_dim"], "qnn_layers": p["num_layers"], "num_row": p["num_row"],
            "net_dropout": p["net_dropout"], "batch_norm": bool(p["batch_norm"])}


def _transformer_dcn(p: dict) -> dict:
    return {"embedding_dim": p["embedding_dim"], "transformer_layers": p["transformer_layers"],
            "num_heads": p["num_heads"], "dim_feedforward": p["dim_feedforward"],
            "transformer_dropout": p["transformer_dropout"], "first_k": p["first_k_cols"],
            "max_pool": bool(p["concat_max_pool"]), "cross_layers": p["dcn_cross_layers"],
            "dnn_hidden": list(p["dcn_hidden_units"]), "net_dropout": p["net_dropout"],
            "batch_norm": bool(p["batch_norm"]), "mlp_hidden": list(p["mlp_hidden_units"])}


PAIRS = {
    "din": Pair(
        "din", "din", "DIN", "github.com/reczoo/WWW2025_MMCTR_Challenge (or the DIN config in yinzm/WWW2025_MMCTR_rk1)",
        (("config/DIN_microlens_mmctr_tuner_config_01", "DIN_MicroLens_1M_x1_001_6c08feb7"),  # rk1: 128, Dice
         ("config/DIN_microlens_mmctr_tuner_config_01.yaml", None)),  # the challenge baseline: 64, ReLU
        _din, needs=("run_expid.py", "src/DIN.py"),
        # the baseline's item: id, tags, the 128-d vector through a bias-free projection; levels are row
        # features whose level 0 is FuxiCTR's padding; Dice's statistics cover the padded history positions
        fixed={"use_item_levels": False, "vector_dim": 128, "vector_bias": False,
               "attention_padding_stats": True, "zero_level_is_padding": True}),
    "qin": Pair(
        "qin", "qin", "QIN_variety_v9", "github.com/salmon1802/QIN",
        (("config/qin_config", "QIN_variety_v9"),), _qin, needs=("run_expid.py", "src/QIN_variety_v9.py"),
        fixed={"zero_level_is_padding": True}),
    "transformer_dcn": Pair(
        "transformer_dcn", "transformer_dcn", "Transformer_DCN", "github.com/yinzm/WWW2025_MMCTR_rk1",
        (("config/Transformer_DCN_microlens_mmctr_tuner_config_01", "Transformer_DCN_MicroLens_1M_x1_001_820c435c"),),
        _transformer_dcn, needs=("run_expid.py", "src/Transformer_DCN.py"),
        fixed={"mask": "published", "zero_level_is_padding": True}),
    "transformer_dcn_quant": Pair(
        "transformer_dcn_quant", "transformer_dcn", "Transformer_DCN_Quant", "github.com/yinzm/WWW2025_MMCTR_rk1",
        (("config/Transformer_DCN_Quant_microlens_mmctr_tuner_config_01",
          "Transformer_DCN_Quant_MicroLens_1M_x1_001_f2fc2995"),),
        _transformer_dcn, needs=("run_expid.py", "src/Transformer_DCN_Quant.py"), fixed={"mask": "published"},
        unsupported="Transformer_DCN_Quant fits its own residual k-means (5 levels x 5 clusters) inside the model and "
                    "adds each item's top_k=10 most cosine-similar items' ids as features; the zoo's transformer_dcn "
                    "takes reducer codes (rq) but has no nearest-item-id feature, so no zoo config is the same "
                    "function"),
}


def train_params(p: dict, epochs: int, seed: int, threads: int, rng: str = "split") -> dict:
    """The zoo trainer's settings from the authors' FuxiCTR params (FuxiCTR's defaults where unset)."""
    monitor = p.get("monitor", "AUC")
    return {"lr": p["learning_rate"], "optimizer": str(p.get("optimizer", "adam")).lower(),
            "embedding_reg": float(p.get("embedding_regularizer") or 0.0),
            "net_reg": float(p.get("net_regularizer") or 0.0), "batch_size": p["batch_size"],
            "patience": p.get("early_stop_patience", 2), "plateau_lr_factor": p.get("factor", 0.1),
            "min_lr": FUXICTR_LR_FLOOR, "grad_clip": 10.0, "epochs": epochs, "seed": seed, "threads": threads,
            "loss": "sigmoid",  # FuxiCTR's binary_crossentropy on the sigmoid output
            # FuxiCTR trains on from where its build left the generator: "split" replays no init draws
            "rng": rng,
            "monitor": "auc" if "AUC" in (monitor if isinstance(monitor, (str, dict)) else "AUC") else "logloss"}
