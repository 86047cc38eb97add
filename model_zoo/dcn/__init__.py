"""``dcn`` CTR model: DCNv2 with the history through target attention or mean pooling."""
import mmbench

from .model import DCN


@mmbench.hookimpl
def register_models(register):
    register("dcn", DCN, description="DCNv2 cross network + DNN (parallel or stacked), history by target attention")
