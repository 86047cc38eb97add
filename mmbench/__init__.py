"""mmbench: which item encoder x dimension reducer x CTR model gives the best AUC on MicroLens-1M."""
import importlib
import importlib.abc
import importlib.util
import sys
import warnings

import pluggy

__version__ = "0.1.0"

#: Decorator for plugin hook implementations: ``@mmbench.hookimpl``.
hookimpl = pluggy.HookimplMarker("mmbench")

#: Where the modules of the flat core went when it was laid out by stage (mmbench 0.1.0): a plugin written
#: against the old paths (``from mmbench.components import Encoder``) still imports, with a
#: DeprecationWarning naming the new one. New code imports ``mmbench.plugin``.
MOVED = {f"mmbench.{name}": f"mmbench.{group}.{name}" for group, names in {
    "contract": "components hookspecs params registry features hf tracking",
    "run": "config pipeline trainer callbacks checkpoint row metrics costs relay",
    "output": "events console tables liblog escaping failures",
    "report": "coldwarm mechanisms stats html_report html_assets component_info health",
    "challenge": "task1 submission",
    "files": "atomic cache locks paths userpaths yamlfile interrupts",
}.items() for name in names.split()}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import mmbench.components`` gives ``mmbench.contract.components`` itself (one module object, so
    classes and module state are shared)."""

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {MOVED[spec.name]}; plugin authors import mmbench.plugin",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())

__all__ = ["__version__", "hookimpl"]
