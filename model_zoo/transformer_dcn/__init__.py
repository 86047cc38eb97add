"""``transformer_dcn`` CTR model: the MMCTR challenge's 1st place (momo)."""
import mmbench

from .model import TransformerDCN


@mmbench.hookimpl
def register_models(register):
    register("transformer_dcn", TransformerDCN,
             description="Transformer over [history item || target] + DCNv2, the MMCTR 1st place (mask: correct | published)")
