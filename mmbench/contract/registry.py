"""Find components through pluggy and the ``mmbench`` entry-point group.

The built-in plugins are declared in mmbench's own setup.cfg exactly like a third-party package's,
so the core never imports a concrete plugin by name.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import importlib
import importlib.metadata as md
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from . import hookspecs
from .components import API_VERSION, base_of
from ..errors import ConfigError, MMBenchError, PluginError, one_line
from ..files.locks import said_if_slow
from .params import build_params, did_you_mean, params_to_dict

KINDS = ("encoder", "reducer", "model", "dataset", "tracker")
_HOOKS = {
    "encoder": "register_encoders",
    "reducer": "register_reducers",
    "model": "register_models",
    "dataset": "register_datasets",
    "tracker": "register_trackers",
}
ENTRY_POINT_GROUP = "mmbench"


@dataclass
class Component:
    """A registered component. ``target`` is its class, or a ``"module:Class"`` reference that is imported
    (and checked) on first use of ``factory``: a plugin whose class needs torch registers the reference,
    so listing the plugins (``mmbench plugins``, ``--help``) imports no torch."""

    kind: str
    name: str
    target: Any
    distribution: str
    version: str
    plugin: str
    metadata: dict = field(default_factory=dict)

    @property
    def factory(self) -> Callable[..., Any]:
        if isinstance(self.target, str):
            cls = _import_reference(self)
            _check_class(self, cls)
            self.target = cls
        return self.target

    @property
    def params_cls(self):
        return self.factory.Params

    @property
    def train_defaults(self) -> dict:
        """A model's ``train:`` defaults (its folder's config.yaml); empty for other kinds."""
        return dict(self.factory.TRAIN_DEFAULTS) if self.kind == "model" else {}

    def label(self) -> str:
        return f"{self.kind} '{self.name}' ({self.distribution} {self.version}".rstrip() + ")"

    def call(self, doing: str, fn: Callable, *args, **kwargs):
        """Run plugin code; an exception that is not an MMBenchError becomes one line naming the plugin."""
        try:
            return fn(*args, **kwargs)
        except MMBenchError:
            raise
        except Exception as exc:
            raise PluginError(f"{self.label()} failed {doing}: {one_line(exc)} "
                              f"(a bug in the plugin; MMBENCH_DEBUG=1 shows the traceback)") from exc


@dataclass
class Configured:
    """A component with its validated parameters: what a config section resolves to."""

    component: Component
    params: Any

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def kind(self) -> str:
        return self.component.kind

    def as_dict(self) -> dict:
        return {"name": self.name, **params_to_dict(self.params)}

    def create(self, *inputs):
        """Construct the component: ``Cls(params)``, or ``Cls(spec, params)`` for a model."""
        doing = "to build" if self.kind == "model" else "to start"
        return self.component.call(doing, self.component.factory, *inputs, self.params)


@dataclass
class PluginFailure:
    plugin: str
    distribution: str
    error: str

    def line(self) -> str:
        """One line for a warning: which plugin, from which distribution, and why it was skipped."""
        return (f"plugin '{self.plugin}' ({self.distribution}) was skipped: {self.error}; "
                f"fix or uninstall it, or set MMBENCH_DISABLE_PLUGINS={self.plugin}")


@dataclass
class PluginInfo:
    """A plugin that loaded: where it came from and which plugin API it declares (None: undeclared)."""

    name: str
    distribution: str
    version: str
    api_version: int | None


class Registry:
    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.components: dict[str, dict[str, Component]] = {k: {} for k in KINDS}
        self.failures: list[PluginFailure] = []
        self.plugins: dict[str, PluginInfo] = {}

    def get(self, kind: str, name: str) -> Component:
        table = self.components[kind]
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            broken = "".join(f" Plugin '{f.plugin}' ({f.distribution}) failed to load and may provide it: {f.error}."
                             for f in self.failures)
            raise PluginError(
                f"unknown {kind} '{name}'{did_you_mean(name, table)}; installed {kind}s: {known}. "
                f"Install the plugin that provides it, then check with `mmbench plugins`.{broken}"
            )
        return table[name]

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def tracker_names(self) -> list[str]:
        """The experiment trackers the installed plugins provide: those they register
        (``register_trackers``) and those an older plugin declares for its own hooks (``tracker_names``)."""
        declared = {str(n) for names in self.pm.hook.tracker_names() for n in names or ()}
        return sorted(declared | set(self.names("tracker")))

    def configure(self, kind: str, name: str, overrides: dict | None = None, where: str | None = None) -> Configured:
        """Defaults → validation: the component ``name`` of ``kind`` with ``overrides`` checked against its
        Params (unknown key, wrong type, ``__post_init__`` checks: one ConfigError naming ``where``)."""
        comp = self.get(kind, name)
        return Configured(comp, build_params(comp.params_cls, overrides, where or f"{kind} ({name})"))

    def create(self, kind: str, name: str, overrides: dict | None = None, *inputs, where: str | None = None):
        """Defaults → validation → construction → error wrapping, for every caller: the one way a
        component is made (``inputs``: the FeatureSpec of a model)."""
        return self.configure(kind, name, overrides, where).create(*inputs)

    def generating_dataset(self, name: str | None = None) -> str:
        """The dataset that writes data (``Dataset.generates``): ``name``, or the only one registered (the
        synthetic MicroLens-1M unless a plugin adds another)."""
        names = [n for n in self.names("dataset") if self.get("dataset", n).factory.generates]
        if name is None and len(names) == 1:
            return names[0]
        if name in names:
            return name
        if name is None:
            raise ConfigError(f"several datasets can generate data ({', '.join(names) or 'none'}); choose one with --dataset")
        raise ConfigError(f"--dataset {name}: not a dataset that generates data{did_you_mean(name, names)}; "
                          f"those that do: {', '.join(names) or 'none'}")

    def list(self, kind: str | None = None, pattern: str | None = None) -> list[Component]:
        """Components in kind then name order; ``pattern`` (a glob, or a substring) matches the name or
        ``kind:name``."""
        if pattern and not any(ch in pattern for ch in "*?["):
            pattern = f"*{pattern}*"
        out = []
        for k in KINDS if kind is None else (kind,):
            for c in sorted(self.components[k].values(), key=lambda c: c.name):
                if not pattern or fnmatch.fnmatch(c.name, pattern) or fnmatch.fnmatch(f"{c.kind}:{c.name}", pattern):
                    out.append(c)
        return out


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("mmbench")
    pm.add_hookspecs(hookspecs)
    return pm


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {item.strip() for item in raw.split(",") if item.strip()}


def _entry_points():
    """One entry point per (distribution, name): a dist on sys.path twice is seen once (the first).
    ``entry_points(group=...)`` reads entry_points.txt files only; the metadata of a distribution (a
    slow parse, ~250 of them in a research venv) is read only for those that declare mmbench plugins."""
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        yield ep, ep.dist


def load_entry_points(pm: pluggy.PluginManager, failures: list[PluginFailure]) -> dict[str, tuple[str, str]]:
    """Import each entry point's module and register it. A broken plugin is recorded, not fatal.

    ``MMBENCH_PLUGINS`` (comma list) keeps only the named plugins or distributions;
    ``MMBENCH_DISABLE_PLUGINS`` drops them.
    """
    allow = _env_list("MMBENCH_PLUGINS")
    block = _env_list("MMBENCH_DISABLE_PLUGINS") or set()
    origins: dict[str, tuple[str, str]] = {}
    for ep, dist in _entry_points():
        dist_name = dist.metadata["Name"]
        names = {ep.name, dist_name}
        if allow is not None and not names & allow:
            continue
        if names & block:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            with said_if_slow(f"plugin '{ep.name}' ({dist_name}) to import",
                              f"Ctrl-C stops; MMBENCH_DISABLE_PLUGINS={ep.name} skips it"):
                module = ep.load()
            pm.register(module, name=ep.name)  # also checks hook names and signatures
        except (Exception, SystemExit) as exc:  # a third-party plugin may fail in any way
            failures.append(PluginFailure(ep.name, dist_name, one_line(exc, whole=True)))
            if pm.get_plugin(ep.name) is not None:  # pluggy keeps a plugin whose hook validation failed
                with contextlib.suppress(Exception):
                    pm.unregister(name=ep.name)
            continue
        origins[ep.name] = (dist_name, dist.version)
    return origins


def build_registry(pm: pluggy.PluginManager | None = None, *, entry_points: bool = True) -> Registry:
    """Collect every component. Tests pass their own ``pm`` with fakes and ``entry_points=False``."""
    pm = pm or new_plugin_manager()
    registry = Registry(pm)
    origins = load_entry_points(pm, registry.failures) if entry_points else {}

    skipped = {f.plugin for f in registry.failures}
    for plugin_name, plugin in list(pm.list_name_plugin()):
        if plugin is None or plugin_name in skipped:
            continue
        # not origins.get(name, _distribution_of(plugin)): that default scans every installed file
        dist, version = origins[plugin_name] if plugin_name in origins else _distribution_of(plugin)
        api = getattr(plugin, "MMBENCH_API_VERSION", None)
        registry.plugins[plugin_name] = PluginInfo(plugin_name, dist, version, api)
        for kind, hook_name in _HOOKS.items():
            impl = getattr(plugin, hook_name, None)
            if impl is None:
                continue
            collected: list[Component] = []

            def register(name, factory, _kind=kind, **metadata):
                collected.append(Component(_kind, name, factory, dist, version, plugin_name, metadata))

            try:
                impl(register=register)
                for comp in collected:
                    _check_component(comp)
            except (Exception, SystemExit) as exc:
                registry.failures.append(PluginFailure(plugin_name, dist, _api_hint(one_line(exc, whole=True), api)))
                continue
            for comp in collected:
                existing = registry.components[kind].get(comp.name)
                if existing is not None:
                    raise PluginError(
                        f"{kind} '{comp.name}' is registered twice: by {existing.distribution} "
                        f"(plugin {existing.plugin}) and by {comp.distribution} (plugin {comp.plugin}); "
                        f"uninstall one or disable it with MMBENCH_DISABLE_PLUGINS={comp.plugin}"
                    )
                registry.components[kind][comp.name] = comp
    return registry


def _api_hint(error: str, api: int | None) -> str:
    if api is not None and api != API_VERSION:
        return (f"{error} (the plugin declares MMBENCH_API_VERSION = {api}, this mmbench speaks plugin API "
                f"{API_VERSION}: install a release of the plugin made for it; docs/plugins.md lists the changes)")
    return error


def _check_component(comp: Component) -> None:
    """What the core relies on: a string name, and a class subclassing its kind's base (checked now, or
    on first use for a ``"module:Class"`` reference)."""
    if not isinstance(comp.name, str) or not comp.name:
        raise PluginError(f"{comp.kind} name must be a non-empty string, got {comp.name!r}")
    if isinstance(comp.target, str):
        if comp.target.count(":") != 1 or not all(comp.target.split(":")):
            raise PluginError(f"{comp.kind} '{comp.name}': {comp.target!r} is neither a class nor a "
                              f"'module:Class' reference")
        return
    _check_class(comp, comp.target)


def _check_class(comp: Component, cls) -> None:
    """A class subclassing its kind's base, Params a dataclass or None, a model's train defaults a mapping."""
    base = base_of(comp.kind)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{comp.kind} '{comp.name}': {cls!r} is not a subclass of "
                          f"mmbench.contract.components.{base.__name__} (plugin API {API_VERSION}; a plugin written for "
                          f"API 1 needs a release made for API {API_VERSION}, see docs/plugins.md)")
    params_cls = cls.Params
    if params_cls is not None and not dataclasses.is_dataclass(params_cls):
        raise PluginError(f"{comp.kind} '{comp.name}': Params must be a dataclass or None, got {params_cls!r}")
    if comp.kind == "model" and not isinstance(cls.TRAIN_DEFAULTS, dict):
        raise PluginError(f"model '{comp.name}': TRAIN_DEFAULTS must be a mapping of train keys")


def _import_reference(comp: Component):
    """The class a ``"module:Class"`` reference names; a failed import is one line naming the plugin."""
    module_name, _, attr = comp.target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        raise PluginError(f"{comp.label()} could not be imported from {comp.target!r}: {one_line(exc)} "
                          f"(fix or uninstall plugin '{comp.plugin}'; MMBENCH_DEBUG=1 shows the traceback)") from exc


def _distribution_of(plugin) -> tuple[str, str]:
    """Best guess for a plugin registered by hand (tests): its top-level package's distribution."""
    module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", "")
    top = module.split(".")[0] if module else ""
    try:
        dists = md.packages_distributions().get(top) or []
        if dists:
            return dists[0], md.version(dists[0])
    except Exception:
        pass
    return "registered in-process", ""


_default_registry: Registry | None = None


def default_registry() -> Registry:
    global _default_registry
    if _default_registry is None:
        _default_registry = build_registry()
    return _default_registry


def reset_default_registry() -> None:
    """Forget the process-wide registry (tests that install or break plugins on the fly)."""
    global _default_registry
    _default_registry = None
