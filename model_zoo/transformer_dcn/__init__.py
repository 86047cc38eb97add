"""``transformer_dcn`` CTR model: the MMCTR challenge's 1st place (momo)."""
import mmbench

from mmbench.params import DEPTH, HEADS, WIDTH, Bounds, declare_bounds

from .model import TransformerDCN, TransformerDCNParams

declare_bounds(TransformerDCNParams, embedding_dim=WIDTH, vector_dim=WIDTH, transformer_layers=Bounds(ge=1, le=64),
               num_heads=HEADS, dim_feedforward=WIDTH, first_k=Bounds(ge=0, le=4096), cross_layers=DEPTH,
               low_rank=Bounds(ge=0, le=65_536), dnn_hidden=WIDTH, mlp_hidden=WIDTH)


@mmbench.hookimpl
def register_models(register):
    register("transformer_dcn", TransformerDCN,
             description="Transformer over [history item || target] + DCNv2, the MMCTR 1st place (mask: correct | published)")
