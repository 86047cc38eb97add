"""``qin`` CTR model: the MMCTR challenge's 2nd place (Quadratic Interest Network)."""
import mmbench

from mmbench.params import DEPTH, WIDTH, Bounds, declare_bounds

from .model import QIN, QINParams

declare_bounds(QINParams, embedding_dim=WIDTH, vector_dim=WIDTH, attention_dim=Bounds(ge=0, le=65_536),
               qnn_layers=DEPTH, num_row=Bounds(ge=1, le=64))


@mmbench.hookimpl
def register_models(register):
    register("qin", QIN, description="Quadratic Interest Network: sparse ReLU target attention + quadratic network, the MMCTR 2nd place")
