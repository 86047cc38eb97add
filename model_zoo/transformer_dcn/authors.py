"""The code ``transformer_dcn`` reproduces: the 1st place's ``Transformer_DCN`` and ``Transformer_DCN_Quant``
(yinzm/WWW2025_MMCTR_rk1), for ``mmbench bench fidelity`` and ``mmbench bench train --vs``."""
from mmbench.plugin import AuthorsCode, Peer

REPO = "github.com/yinzm/WWW2025_MMCTR_rk1"
#: the published run ``bench train --vs published-transformer-dcn`` trains (vs_published.py reads it)
CONFIG = "config/Transformer_DCN_microlens_mmctr_tuner_config_01"
EXPID = "Transformer_DCN_MicroLens_1M_x1_001_820c435c"


def from_fuxictr(p: dict) -> dict:
    """The published config's params as ``transformer_dcn``'s."""
    return {"embedding_dim": p["embedding_dim"], "transformer_layers": p["transformer_layers"],
            "num_heads": p["num_heads"], "dim_feedforward": p["dim_feedforward"],
            "transformer_dropout": p["transformer_dropout"], "first_k": p["first_k_cols"],
            "max_pool": bool(p["concat_max_pool"]), "cross_layers": p["dcn_cross_layers"],
            "dnn_hidden": list(p["dcn_hidden_units"]), "net_dropout": p["net_dropout"],
            "batch_norm": bool(p["batch_norm"]), "mlp_hidden": list(p["mlp_hidden_units"])}


AUTHORS_CODE = (
    AuthorsCode("transformer_dcn", "Transformer_DCN", REPO, ((CONFIG, EXPID),), from_fuxictr,
                needs=("run_expid.py", "src/Transformer_DCN.py"),
                fixed={"mask": "published", "zero_level_is_padding": True}),
    AuthorsCode(
        "transformer_dcn_quant", "Transformer_DCN_Quant", REPO,
        (("config/Transformer_DCN_Quant_microlens_mmctr_tuner_config_01",
          "Transformer_DCN_Quant_MicroLens_1M_x1_001_f2fc2995"),),
        from_fuxictr, needs=("run_expid.py", "src/Transformer_DCN_Quant.py"), fixed={"mask": "published"},
        unsupported="Transformer_DCN_Quant fits its own residual k-means (5 levels x 5 clusters) inside the model and "
                    "adds each item's top_k=10 most cosine-similar items' ids as features; the zoo's transformer_dcn "
                    "takes reducer codes (rq) but has no nearest-item-id feature, so no zoo config is the same "
                    "function"),
)

PEERS = (Peer("published-transformer-dcn", "mmbench_zoo.transformer_dcn.vs_published", requires="fuxictr", repo=REPO,
              repo_needs=("src/Transformer_DCN.py", "src/mmctr_dataloader.py", CONFIG)),)
