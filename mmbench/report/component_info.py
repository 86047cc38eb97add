"""What a component takes, as plain lines: its kind, distribution and version, each parameter with its
type, default and allowed values (its ``Params`` dataclass and the bounds declared through
mmbench/contract/params.py), and for a model the ``train:`` defaults of its folder's ``config.yaml``.

``mmbench show NAME`` prints one component; ``mmbench plugins PATTERN`` prints every one it matches.
The lines are plain columns (no table borders, nothing truncated), so they read the same in a
terminal, a pipe and a log.
"""
from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

from ..errors import PluginError
from ..contract.params import describe_params
from ..contract.registry import KINDS, Component, Registry

HEADER = ("key", "type", "default", "allowed")
#: ``mmbench show train``: the train section's keys (every run config has one)
TRAIN = "train"


def _value(value) -> str:
    """A default as it would be written in a YAML config."""
    if isinstance(value, str):
        return value if value else "''"
    return json.dumps(value, default=str)


def columns(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    """Left-aligned plain columns, each as wide as its widest cell."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip() for r in rows]


def param_rows(params_cls, defaults: dict | None = None, only=None) -> list[tuple[str, ...]]:
    """One row per parameter; ``defaults`` replace the dataclass's (a model's train defaults)."""
    rows = []
    for p in describe_params(params_cls):
        if only is not None and p["name"] not in only:
            continue
        default = (defaults or {}).get(p["name"], p["default"])
        kind, allowed = p["type"], p["range"] or "-"
        if kind.startswith("one of "):  # a Literal: its choices are what is allowed
            kind, allowed = "choice", kind
        elif kind.startswith(("list", "tuple")) and p["range"]:
            allowed = f"each {allowed}"
        rows.append((p["name"], kind, _value(default), allowed))
    return rows


def config_file(comp: Component) -> Path | None:
    """The ``config.yaml`` beside a model's module, where its train defaults are read from."""
    module = sys.modules.get(comp.factory.__module__)
    if getattr(module, "__file__", None) is None:  # a class defined in memory (a test, a notebook)
        return None
    path = Path(module.__file__).with_name("config.yaml")
    return path if path.is_file() else None


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def render(comp: Component) -> list[str]:
    """The lines ``mmbench show`` prints for one component."""
    lines = [f"{comp.kind} {comp.name}: from {comp.distribution} {comp.version} (plugin '{comp.plugin}', "
             f"class {comp.factory.__module__}.{comp.factory.__qualname__})"]
    description = comp.metadata.get("description")
    if description:
        lines.append(f"  {description}")
    rows = param_rows(comp.params_cls)
    if rows:
        lines += ["", f"parameters ({comp.kind}.KEY in a config, or --set {comp.kind}.KEY=VALUE):"]
        lines += columns([HEADER, *rows])
    else:
        where = ("a run turns it on with train.track: " + comp.name) if comp.kind == "tracker" else \
            f"the {comp.kind} section takes only its name"
        lines += ["", f"parameters: none ({where})"]
    if comp.kind == "model":
        lines += ["", *train_lines(comp)]
    return lines


def train_lines(comp: Component) -> list[str]:
    from ..run.trainer import TrainParams

    defaults = comp.train_defaults
    where = config_file(comp)
    source = f" ({_shown_path(where)})" if where else ""
    if not defaults:
        return [f"train defaults: mmbench's own (`mmbench show train` lists them){source}"]
    return [f"train defaults of {comp.name}{source}; the other train keys keep mmbench's defaults "
            "(`mmbench show train`):", *columns([HEADER, *param_rows(TrainParams, defaults, only=defaults)])]


def render_train() -> list[str]:
    from ..run.trainer import TrainParams

    return ["train: the training settings of every run (train.KEY in a config, or --set train.KEY=VALUE); "
            "a model's config.yaml may change these defaults (`mmbench show MODEL`)",
            "", *columns([HEADER, *param_rows(TrainParams)])]


def _suggestion(query: str, name: str, registry: Registry) -> str:
    """A did-you-mean that ignores case: 'DIN' -> 'din', 'reducer/PCA' -> 'reducer/pca', and names the
    kind that has the name: 'model/pca' -> 'reducer/pca'."""
    same = [c for c in registry.list() if c.name.lower() == name.lower()]
    if len(same) == 1:
        hit = same[0]
        return f" (did you mean '{hit.kind + '/' + hit.name if '/' in query else hit.name}'?)"
    names = {c.name.lower(): c.name for c in registry.list()}
    qualified = {f"{c.kind}/{c.name}".lower(): f"{c.kind}/{c.name}" for c in registry.list()}
    choices = {**names, **qualified, TRAIN: TRAIN}
    close = difflib.get_close_matches(query.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{choices[close[0]]}'?)" if close else ""


def find(registry: Registry, query: str) -> Component:
    """The component ``query`` names: ``name``, or ``kind/name`` (also ``kind:name``) where a name is
    registered by several kinds."""
    kind, sep, name = query.replace(":", "/").partition("/")
    if not sep:
        kind, name = None, query
    elif kind not in KINDS:
        raise PluginError(f"unknown kind '{kind}' in {query!r}; kinds: {', '.join(KINDS)} (e.g. reducer/pca)")
    found = [c for c in registry.list(kind) if c.name == name]
    if not found:
        raise PluginError(f"no {kind or 'component'} named {query!r}{_suggestion(query.replace(':', '/'), name, registry)}; "
                          "`mmbench plugins` lists them all")
    if len(found) > 1:
        raise PluginError(f"{query!r} names {len(found)} components; say which: "
                          + ", ".join(f"mmbench show {c.kind}/{c.name}" for c in found))
    return found[0]
