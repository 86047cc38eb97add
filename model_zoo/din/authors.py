"""The code ``din`` reproduces: the MMCTR challenge baseline's DIN (FuxiCTR), for ``mmbench bench fidelity``,
and FuxiCTR's own DIN for ``mmbench bench train --vs fuxictr``."""
from mmbench.plugin import AuthorsCode, Peer


def from_fuxictr(p: dict) -> dict:
    """The baseline config's DIN params as ``din``'s."""
    return {"embedding_dim": p["embedding_dim"], "attention_hidden": list(p["attention_hidden_units"]),
            "attention_activation": str(p["attention_hidden_activations"]).lower(),
            "attention_dropout": p["attention_dropout"], "use_softmax": bool(p["din_use_softmax"]),
            "dnn_hidden": list(p["dnn_hidden_units"]), "net_dropout": p["net_dropout"],
            "batch_norm": bool(p["batch_norm"])}


AUTHORS_CODE = (
    AuthorsCode(
        "din", "DIN", "github.com/reczoo/WWW2025_MMCTR_Challenge (or the DIN config in yinzm/WWW2025_MMCTR_rk1)",
        (("config/DIN_microlens_mmctr_tuner_config_01", "DIN_MicroLens_1M_x1_001_6c08feb7"),  # rk1: 128, Dice
         ("config/DIN_microlens_mmctr_tuner_config_01.yaml", None)),  # the challenge baseline: 64, ReLU
        from_fuxictr, needs=("run_expid.py", "src/DIN.py"),
        # the baseline's item: id, tags, the 128-d vector through a bias-free projection; levels are row
        # features whose level 0 is FuxiCTR's padding; Dice's statistics cover the padded history positions
        fixed={"use_item_levels": False, "vector_dim": 128, "vector_bias": False,
               "attention_padding_stats": True, "zero_level_is_padding": True}),
)

PEERS = (Peer("fuxictr", "mmbench_zoo.din.vs_fuxictr", requires="fuxictr"),)
