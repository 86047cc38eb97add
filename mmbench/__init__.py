"""mmbench: which item encoder x dimension reducer x CTR model gives the best AUC on MicroLens-1M."""
import pluggy

__version__ = "0.1.0"

#: Decorator for plugin hook implementations: ``@mmbench.hookimpl``.
hookimpl = pluggy.HookimplMarker("mmbench")

__all__ = ["__version__", "hookimpl"]
