"""Validate a YAML section against a component's ``Params`` dataclass.

Components declare their parameters once, as a dataclass; the core checks names, types and allowed
ranges so that no plugin writes validation code, and ``mmbench plugins --json`` can show every
parameter, its default and its range. A range is declared on the field (``lr: float = bounded(1e-3,
gt=0)``) or afterwards for a whole class (``declare_bounds(DINParams, embedding_dim=Bounds(ge=1))``);
a few conventions hold for every plugin without any declaration: floats must be finite and anything
named ``*dropout*`` lies in [0, 1).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, short

_BOUNDS_KEY = "mmbench_bounds"
_ADDED_LATER_KEY = "mmbench_added_later"


@dataclass(frozen=True)
class Bounds:
    """Allowed values of a number (each element, for a list): ``ge``/``gt``/``le``/``lt``, plus values
    in ``also`` that mean something special (``0 = off``); or, for a string, a regular ``pattern``."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    also: tuple = ()
    pattern: str | None = None
    hint: str = ""  # what the pattern means, for the message: "auto, cpu, cuda or cuda:N"

    def ok(self, value) -> bool:
        if value in self.also:
            return True
        if self.pattern is not None:
            return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None
        return not ((self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt)
                    or (self.le is not None and value > self.le) or (self.lt is not None and value >= self.lt))

    def describe(self) -> str:
        if self.pattern is not None:
            return self.hint or f"matching {self.pattern}"
        if self.ge is not None and self.le is not None:
            text = f"between {_num(self.ge)} and {_num(self.le)}"
        else:
            low = f">= {_num(self.ge)}" if self.ge is not None else f"> {_num(self.gt)}" if self.gt is not None else ""
            high = f"<= {_num(self.le)}" if self.le is not None else f"< {_num(self.lt)}" if self.lt is not None else ""
            text = " and ".join(p for p in (low, high) if p) or "any value"
        return " or ".join([*(repr(a) for a in self.also), text])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


#: common declarations: a layer width or embedding size, a count of layers, a number of heads, a device
WIDTH = Bounds(ge=1, le=65_536)
DEPTH = Bounds(ge=0, le=64)
HEADS = Bounds(ge=1, le=256)
DEVICE = Bounds(pattern=r"auto|cpu|mps|cuda(:[0-9]+)?", hint="auto, cpu, mps, cuda or cuda:N")


def bounded(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, **bounds):
    """A dataclass field with declared bounds, e.g. ``epochs: int = bounded(10, ge=1)``."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={_BOUNDS_KEY: Bounds(**bounds)})


def added_later(default: Any, **bounds):
    """A field added after runs were recorded with its class. While it holds its default (which must
    reproduce the behaviour from before it existed) it is left out of the config a run records and so
    of the run's hash: the rows recorded before it existed stay the same combination."""
    metadata = {_ADDED_LATER_KEY: True}
    if bounds:
        metadata[_BOUNDS_KEY] = Bounds(**bounds)
    return dataclasses.field(default=default, metadata=metadata)


def declare_bounds(params_cls, **bounds: Bounds) -> None:
    """Declare bounds on an existing Params class (without touching its field definitions)."""
    names = {f.name for f in dataclasses.fields(params_cls)}
    unknown = set(bounds) - names
    if unknown:
        raise TypeError(f"{params_cls.__name__} has no field(s) {sorted(unknown)}")
    params_cls.__mmbench_bounds__ = {**params_cls.__dict__.get("__mmbench_bounds__", {}), **bounds}


def bounds_of(params_cls, f: dataclasses.Field) -> Bounds | None:
    """The declared bounds of a field (its metadata, then the class and its bases), else a convention."""
    if _BOUNDS_KEY in f.metadata:
        return f.metadata[_BOUNDS_KEY]
    for klass in getattr(params_cls, "__mro__", ()):
        declared = klass.__dict__.get("__mmbench_bounds__", {})
        if f.name in declared:
            return declared[f.name]
    if "dropout" in f.name:
        return Bounds(ge=0, lt=1)
    return None


def check_bounds(params) -> None:
    """For a ``__post_init__``: every field within its bounds, also when built in Python, not from YAML."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        try:
            problem = _problem(value, bounds_of(type(params), f))
        except TypeError:  # a value of the wrong type altogether: the type check names it for configs
            problem = "has the wrong type"
        if problem:
            raise ValueError(f"{f.name}: {problem}, got {short(repr(value))}")


def _problem(value, bound: Bounds | None) -> str | None:
    """Why ``value`` (already type-checked) is not allowed, or None."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            return "must be a finite number"
        if bound is not None and isinstance(item, (int, float, str)) and not isinstance(item, bool):
            if not bound.ok(item):
                each = "each value " if items is value else ""
                return f"{each}must be {bound.describe()}"
    return None


def did_you_mean(name, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, compared case-insensitively (``DIN`` →
    ``din``); empty when none is close."""
    by_lower: dict[str, str] = {}
    for c in map(str, choices):
        by_lower.setdefault(c.lower(), c)
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def check_keys(keys, allowed, where: str, what: str = "key", prefix: str = "") -> None:
    """One ConfigError for the first of ``keys`` not in ``allowed``, with a did-you-mean and the list."""
    for key in keys:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown {what} '{prefix}{short(str(key), 60)}'"
                              f"{did_you_mean(str(key), allowed)}; allowed: {', '.join(allowed)}")


def _type_ok(value: Any, annotation: Any) -> tuple[bool, Any]:
    """Return (ok, coerced value). Ints are accepted where floats are expected."""
    if annotation is Any or annotation is typing.Any:
        return True, value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            ok, coerced = _type_ok(value, arg)
            if ok:
                return True, coerced
        return False, value
    if origin is typing.Literal:
        return value in typing.get_args(annotation), value
    if annotation is type(None):
        return value is None, value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False, value
        (arg, *_) = typing.get_args(annotation) or (Any,)
        coerced = []
        for item in value:
            ok, c = _type_ok(item, arg)
            if not ok:
                return False, value
            coerced.append(c)
        return True, coerced if origin is list else tuple(coerced)
    if origin is dict:
        return isinstance(value, dict), value
    if annotation is float:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, (int, float)):
            try:
                return True, float(value)
            except OverflowError:  # an int too large for a float: the finite check names it
                return True, math.inf
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string; it is a number to the user
            try:
                return True, float(value.strip())
            except ValueError:
                return False, value
        return False, value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is str:
        return isinstance(value, str), value
    if isinstance(annotation, type):
        return isinstance(value, annotation), value
    return True, value


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if origin in (list, tuple) and typing.get_args(annotation):
        return f"{origin.__name__} of {_type_name(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def build_params(params_cls, section: dict | None, where: str):
    """Instantiate ``params_cls`` from ``section``; ``where`` names the config key, e.g. 'model (din)'."""
    section = dict(section or {})
    if params_cls is None:
        if section:
            raise ConfigError(f"{where}: takes no parameters, got {sorted(section)}")
        return None
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    values = {}
    for key, value in section.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key '{short(str(key), 60)}'{did_you_mean(key, fields)}; "
                f"known keys: {', '.join(sorted(fields))}"
            )
        ok, coerced = _type_ok(value, hints[key])
        if not ok:
            hint = did_you_mean(value, typing.get_args(hints[key])) if isinstance(value, str) else ""
            raise ConfigError(
                f"{where}.{key}: expected {_type_name(hints[key])}, got {short(repr(value))}{hint}"
            )
        problem = _problem(coerced, bounds_of(params_cls, fields[key]))
        if problem:
            raise ConfigError(f"{where}.{key}: {problem}, got {short(repr(value))}")
        values[key] = coerced
    try:
        return params_cls(**values)
    except TypeError as exc:  # a required field without default is missing
        raise ConfigError(f"{where}: {short(str(exc), 300)}") from None
    except ValueError as exc:  # __post_init__ checks of the component
        raise ConfigError(f"{where}: {short(str(exc), 300)}") from None


def describe_params(params_cls) -> list[dict]:
    """Name, type and default of each parameter, for ``mmbench plugins --json``."""
    if params_cls is None:
        return []
    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = None
        bound = bounds_of(params_cls, f)
        out.append({"name": f.name, "type": _type_name(hints[f.name]), "default": default,
                    "range": bound.describe() if bound is not None else ""})
    return out


def params_to_dict(params, keep_added_later: bool = False) -> dict:
    """The params as a run records them (and hashes them): fields declared ``added_later`` are left out
    while at their default (unless ``keep_added_later``)."""
    if params is None:
        return {}
    out = dataclasses.asdict(params)
    for f in dataclasses.fields(params):
        if not keep_added_later and f.metadata.get(_ADDED_LATER_KEY) and out[f.name] == f.default:
            del out[f.name]
    return out
