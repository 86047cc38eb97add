"""``din`` CTR model: the MMCTR challenge's baseline DIN."""
import mmbench

from mmbench.params import WIDTH, declare_bounds

from .model import DIN, DINParams

declare_bounds(DINParams, embedding_dim=WIDTH, attention_hidden=WIDTH, dnn_hidden=WIDTH)


@mmbench.hookimpl
def register_models(register):
    register("din", DIN, description="Deep Interest Network, the MMCTR challenge baseline (target attention + DNN)")
