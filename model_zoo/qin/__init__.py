"""``qin`` CTR model: the MMCTR challenge's 2nd place (Quadratic Interest Network)."""
import mmbench


# registered as "module:Class": the class (and torch) is imported on first use, not by `mmbench plugins`
@mmbench.hookimpl
def register_models(register):
    register("qin", "mmbench_zoo.qin.model:QIN", description="Quadratic Interest Network: sparse ReLU target attention + quadratic network, the MMCTR 2nd place")
