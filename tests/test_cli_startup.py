"""Start-up: ``mmbench --help`` and ``mmbench plugins`` import no torch, pandas, Ray, Optuna or MLflow.

Each check runs in a fresh interpreter and reads ``sys.modules`` (not a stopwatch: timings depend on
the machine's load). Heavy libraries are imported by the code that uses them: the training commands,
and a plugin's class on first use (``register("din", "mmbench_zoo.din.model:DIN")``).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmbench.commands import sweep as sweep_cmd
from mmbench.errors import PluginError
from mmbench.contract.registry import build_registry, new_plugin_manager

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "ray", "optuna", "mlflow", "sklearn", "scipy", "transformers", "open_clip", "matplotlib")


def heavy_imported(code: str, tmp_path: Path) -> list[str]:
    """The heavy modules present in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**__import__("os").environ, "MMBENCH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_and_parser_import_nothing_heavy(tmp_path):
    assert heavy_imported("import mmbench.cli; mmbench.cli.build_parser()", tmp_path) == []


def test_listing_the_plugins_imports_nothing_heavy(tmp_path):
    code = ("import contextlib, io, mmbench.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out: rc = mmbench.cli.main(['plugins'])\n"
            "assert rc == 0 and 'din' in out.getvalue() and 'pca' in out.getvalue(), out.getvalue()")
    assert heavy_imported(code, tmp_path) == []


def test_a_model_class_is_imported_on_first_use(tmp_path):
    code = ("import sys\nfrom mmbench.contract.registry import default_registry\n"
            "comp = default_registry().get('model', 'din')\nassert 'torch' not in sys.modules\n"
            "assert comp.factory.__name__ == 'DIN' and comp.params_cls.__name__ == 'DINParams'")
    assert "torch" in heavy_imported(code, tmp_path)


def test_the_plugin_import_surface_is_light_and_complete(tmp_path):
    """``mmbench.plugin`` is the one module plugin authors import: every name it lists resolves, to the
    same objects the core uses, and only ``Model`` / ``FeatureSpec`` bring torch (on first use)."""
    code = ("import sys, mmbench.plugin as p, mmbench.contract.components as c, mmbench.contract.params as pr\n"
            "light = [n for n in p.__all__ if n not in ('Model', 'FeatureSpec')]\n"
            "assert all(getattr(p, n) is not None for n in light) and 'torch' not in sys.modules\n"
            "assert p.Encoder is c.Encoder and p.bounded is pr.bounded and p.hookimpl is __import__('mmbench').hookimpl\n"
            "assert p.Model is c.Model and p.FeatureSpec.__name__ == 'FeatureSpec'")
    assert "torch" in heavy_imported(code, tmp_path)
    for path in [*(ROOT / "mmbench" / "scaffold").glob("*.py.tmpl"),
                 *(ROOT / "plugins" / "mmbench-example-plugin" / "mmbench_example").glob("*.py")]:
        text = path.read_text()
        assert "from mmbench.contract.components" not in text and "from mmbench.contract.params" not in text, path


def test_tune_dry_run_starts_no_ray(tmp_path):
    code = ("import contextlib, io, mmbench.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    rc = mmbench.cli.main(['tune', 'configs/tune/din_tiny.yaml', '--dry-run', '--executor', 'ray'])\n"
            "assert rc == 0 and 'dry run: nothing ran' in out.getvalue(), out.getvalue()")
    assert "ray" not in heavy_imported(code, tmp_path)  # it resolves the corners (torch), and starts no cluster


def test_sweep_parser_offers_the_plans_executors():
    from mmbench.sweep.plan import EXECUTORS

    assert sweep_cmd.EXECUTORS == EXECUTORS


class _LazyPlugin:
    """Registers a model by a "module:Class" reference, as the zoo does."""

    def __init__(self, target):
        self.target = target

    def register_models(self, register):
        register("lazy_model", self.target, description="by reference")


def _registry(target):
    pm = new_plugin_manager()
    plugin = _LazyPlugin(target)
    pm.register(plugin, name="lazy_plugin")
    return build_registry(pm, entry_points=False)


def test_a_reference_resolves_and_is_checked_on_first_use():
    registry = _registry("mmbench_zoo.din.model:DIN")
    comp = registry.get("model", "lazy_model")
    assert isinstance(comp.target, str)
    assert comp.factory.__name__ == "DIN" and comp.target is comp.factory
    assert registry.configure("model", "lazy_model", {"embedding_dim": 8}).params.embedding_dim == 8


@pytest.mark.parametrize("target, message", [
    ("mmbench_zoo.din.no_such_module:DIN", "could not be imported from 'mmbench_zoo.din.no_such_module:DIN'"),
    ("mmbench_zoo.din.model:NoSuchClass", "could not be imported from 'mmbench_zoo.din.model:NoSuchClass'"),
    ("mmbench_zoo.din.model:DINParams", "is not a subclass of mmbench.contract.components.Model"),
])
def test_a_broken_reference_is_one_line_naming_the_plugin(target, message):
    comp = _registry(target).get("model", "lazy_model")
    with pytest.raises(PluginError, match="lazy_model") as err:
        comp.factory
    assert message in str(err.value)


def test_plugin_health_imports_references(tmp_path):
    from mmbench.report.health import check_plugins

    health = check_plugins(_registry("mmbench_zoo.din.model:NoSuchClass"))
    assert [h.ok for h in health] == [False]
    assert "NoSuchClass" in health[0].problems[0]


def test_a_malformed_reference_is_refused_at_registration():
    registry = _registry("no colon here")
    assert "lazy_model" not in registry.components["model"]
    assert "neither a class nor a 'module:Class' reference" in registry.failures[0].error
