"""``din`` CTR model: the MMCTR challenge's baseline DIN."""
import mmbench

from mmbench.params import DEPTH, HEADS, WIDTH, Bounds, declare_bounds

from .model import DIN, DINParams

declare_bounds(DINParams, embedding_dim=WIDTH, attention_hidden=WIDTH, dnn_hidden=WIDTH,
               vector_dim=Bounds(ge=0, le=65_536), target_attention_heads=Bounds(ge=0, le=256),
               target_attention_dim=Bounds(ge=0, le=65_536), cross_attention_layers=DEPTH, cross_attention_heads=HEADS,
               cross_attention_ff=Bounds(ge=0, le=65_536), senet_reduction=Bounds(ge=0, le=1024))


@mmbench.hookimpl
def register_models(register):
    register("din", DIN, description="Deep Interest Network, the MMCTR challenge baseline (target attention + DNN)")
