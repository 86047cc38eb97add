"""``dcn`` CTR model: DCNv2 with the history through target attention or mean pooling."""
import mmbench


# registered as "module:Class": the class (and torch) is imported on first use, not by `mmbench plugins`
@mmbench.hookimpl
def register_models(register):
    register("dcn", "mmbench_zoo.dcn.model:DCN", description="DCNv2 cross network + DNN (parallel or stacked), history by target attention")
