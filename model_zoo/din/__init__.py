"""``din`` CTR model: the MMCTR challenge's baseline DIN."""
import mmbench

from .model import DIN


@mmbench.hookimpl
def register_models(register):
    register("din", DIN, description="Deep Interest Network, the MMCTR challenge baseline (target attention + DNN)")
