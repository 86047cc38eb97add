"""Fake installed distributions for tests: a ``<name>-<version>.dist-info`` with an ``entry_points.txt``
in a folder put on sys.path / PYTHONPATH. importlib.metadata finds it as it finds a pip-installed one,
so plugin discovery runs exactly as for a real install, without pip."""
from __future__ import annotations

import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = ROOT / "plugins" / "mmbench-example-plugin"


def make_dist(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str] | None = None,
              version: str = "0.1") -> Path:
    """Write ``modules`` (name -> source) and a dist-info declaring ``entry_points`` (name -> module)."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in (modules or {}).items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    eps = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[mmbench]\n{eps}")
    return site


def install_example_plugin(site: Path) -> Path:
    """The example plugin as if pip-installed: its metadata in ``site``; its code must be importable
    from EXAMPLE_SRC (add both to the path)."""
    return make_dist(site, "mmbench-example-plugin", {"example": "mmbench_example"}, version="0.1.0")


BROKEN_ON_IMPORT = """
raise RuntimeError("this plugin is broken on purpose")
"""

NAN_MODEL = """
import torch
from torch import nn
import mmbench
from mmbench.contract.components import Model


class NanModel(Model):
    def __init__(self, spec, params):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, batch):
        return self.w * batch["item_id"].float() + float("nan")


@mmbench.hookimpl
def register_models(register):
    register("nan_model", NanModel)
"""
