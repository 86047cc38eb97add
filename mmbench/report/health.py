"""Plugin health for ``mmbench plugins --check`` and ``mmbench doctor``.

Loading a plugin already imports it (the registry records import and registration failures); this
adds what a load does not show: a declared plugin API version other than mmbench's, and component
declarations the core would trip over later (Params that cannot be described, model defaults in a
config.yaml or Params defaults that do not validate).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import MMBenchError
from ..contract.components import API_VERSION
from ..contract.params import build_params, describe_params
from ..contract.registry import KINDS, Registry


@dataclass
class PluginHealth:
    plugin: str
    distribution: str
    version: str
    api_version: int | None
    components: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        what = "ok" if self.ok else "BROKEN: " + "; ".join(self.problems)
        return f"plugin '{self.plugin}' ({self.distribution} {self.version}): {what}".replace(" )", ")")


def _component_problems(comp) -> list[str]:
    from ..run.trainer import TrainParams

    where = f"{comp.kind} '{comp.name}'"
    problems = []
    try:
        comp.factory  # a "module:Class" reference is imported and checked here
    except MMBenchError as exc:
        return [str(exc)]
    try:
        describe_params(comp.params_cls)
    except Exception as exc:
        problems.append(f"{where}: Params cannot be described ({type(exc).__name__}: {exc})")
    if comp.kind == "model":
        try:
            build_params(comp.params_cls, {}, f"{where} defaults (Params)")
            build_params(TrainParams, comp.train_defaults, f"{where} train defaults (config.yaml)")
        except MMBenchError as exc:
            problems.append(str(exc))
    return problems


def check_plugins(registry: Registry) -> list[PluginHealth]:
    """One entry per plugin, loaded or not, in name order."""
    out = {}
    for failure in registry.failures:
        entry = out.setdefault(failure.plugin, PluginHealth(failure.plugin, failure.distribution, "", None, [], []))
        entry.problems.append(failure.error)
    for name, info in registry.plugins.items():
        entry = out.setdefault(name, PluginHealth(name, info.distribution, info.version, info.api_version, [], []))
        entry.version, entry.api_version = info.version, info.api_version
        if info.api_version is not None and info.api_version != API_VERSION:
            entry.problems.append(
                f"declares MMBENCH_API_VERSION = {info.api_version} but this mmbench speaks plugin API "
                f"{API_VERSION}; install a plugin release made for it"
            )
    for kind in KINDS:
        for comp in registry.components[kind].values():
            entry = out.get(comp.plugin)
            if entry is None:
                continue
            entry.components.append(f"{kind}:{comp.name}")
            entry.problems += _component_problems(comp)
    return [out[k] for k in sorted(out)]
