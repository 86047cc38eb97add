"""``attention_dnn`` CTR model."""
import mmbench


# registered as "module:Class": the class (and torch) is imported on first use, not by `mmbench plugins`
@mmbench.hookimpl
def register_models(register):
    register("attention_dnn", "mmbench_zoo.attention_dnn.model:AttentionDNN", description="self-attention over the history + DNN (the seed's design)")
