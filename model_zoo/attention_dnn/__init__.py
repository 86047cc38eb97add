"""``attention_dnn`` CTR model."""
import mmbench

from .model import AttentionDNN


@mmbench.hookimpl
def register_models(register):
    register("attention_dnn", AttentionDNN, description="self-attention over the history + DNN (the seed's design)")
