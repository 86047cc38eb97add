"""``din`` CTR model: the MMCTR challenge's baseline DIN."""
import mmbench


# registered as "module:Class": the class (and torch) is imported on first use, not by `mmbench plugins`
@mmbench.hookimpl
def register_models(register):
    register("din", "mmbench_zoo.din.model:DIN", description="Deep Interest Network, the MMCTR challenge baseline (target attention + DNN)")
