"""``qin`` CTR model: the MMCTR challenge's 2nd place (Quadratic Interest Network)."""
import mmbench

from .model import QIN


@mmbench.hookimpl
def register_models(register):
    register("qin", QIN, description="Quadratic Interest Network: sparse ReLU target attention + quadratic network, the MMCTR 2nd place")
