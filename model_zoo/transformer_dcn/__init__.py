"""``transformer_dcn`` CTR model: the MMCTR challenge's 1st place (momo)."""
import mmbench


# registered as "module:Class": the class (and torch) is imported on first use, not by `mmbench plugins`
@mmbench.hookimpl
def register_models(register):
    register("transformer_dcn", "mmbench_zoo.transformer_dcn.model:TransformerDCN",
             description="Transformer over [history item || target] + DCNv2, the MMCTR 1st place (mask: correct | published)")
