"""Example mmbench plugin: one encoder and one CTR model, registered through the `mmbench` entry point."""
import mmbench

from .encoder import HashedBowEncoder
from .model import MeanPoolLR

#: The plugin API this release was written for (mmbench.contract.components.API_VERSION); checked by
#: `mmbench plugins --check`.
MMBENCH_API_VERSION = 2

__version__ = "0.1.0"


@mmbench.hookimpl
def register_encoders(register):
    register("hashed_bow", HashedBowEncoder, description="hashed signed bag of words of the title")


@mmbench.hookimpl
def register_models(register):
    register("mean_pool_lr", MeanPoolLR, description="logistic regression on target x mean-pooled history")
