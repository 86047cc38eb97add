"""``attention_dnn`` CTR model."""
import mmbench

from mmbench.params import DEPTH, HEADS, WIDTH, declare_bounds

from .model import AttentionDNN, AttentionDNNParams

declare_bounds(AttentionDNNParams, embedding_dim=WIDTH, attention_dim=WIDTH, num_heads=HEADS,
               attention_layers=DEPTH, dnn_hidden=WIDTH)


@mmbench.hookimpl
def register_models(register):
    register("attention_dnn", AttentionDNN, description="self-attention over the history + DNN (the seed's design)")
