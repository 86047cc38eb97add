"""``dcn`` CTR model: DCNv2 with the history through target attention or mean pooling."""
import mmbench

from mmbench.params import DEPTH, WIDTH, Bounds, declare_bounds

from .model import DCN, DCNParams

declare_bounds(DCNParams, embedding_dim=WIDTH, cross_layers=DEPTH, low_rank=Bounds(ge=0, le=65_536),
               dnn_hidden=WIDTH, attention_hidden=WIDTH)


@mmbench.hookimpl
def register_models(register):
    register("dcn", DCN, description="DCNv2 cross network + DNN (parallel or stacked), history by target attention")
