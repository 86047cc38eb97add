"""The code ``qin`` reproduces: the 2nd place's ``QIN_variety_v9`` (salmon1802/QIN), for ``mmbench bench fidelity``."""
from mmbench.plugin import AuthorsCode


def from_fuxictr(p: dict) -> dict:
    """The submitted config's QIN params as ``qin``'s."""
    return {"embedding_dim": p["embedding_dim"], "qnn_layers": p["num_layers"], "num_row": p["num_row"],
            "net_dropout": p["net_dropout"], "batch_norm": bool(p["batch_norm"])}


AUTHORS_CODE = (
    AuthorsCode("qin", "QIN_variety_v9", "github.com/salmon1802/QIN", (("config/qin_config", "QIN_variety_v9"),),
                from_fuxictr, needs=("run_expid.py", "src/QIN_variety_v9.py"), fixed={"zero_level_is_padding": True}),
)
