"""Validate a YAML section against a component's ``Params`` dataclass.

Components declare their parameters once, as a dataclass; the core checks names and types so that no
plugin writes validation code, and ``mmbench plugins --json`` can show every parameter and default.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any

from .errors import ConfigError


def did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(keys, allowed, where: str, what: str = "key", prefix: str = "") -> None:
    """One ConfigError for the first of ``keys`` not in ``allowed``, with a did-you-mean and the list."""
    for key in keys:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown {what} '{prefix}{key}'{did_you_mean(str(key), allowed)}; "
                              f"allowed: {', '.join(allowed)}")


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
            return True, float(value)
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
                f"{where}: unknown key '{key}'{did_you_mean(key, fields)}; "
                f"known keys: {', '.join(sorted(fields))}"
            )
        ok, coerced = _type_ok(value, hints[key])
        if not ok:
            raise ConfigError(
                f"{where}.{key}: expected {_type_name(hints[key])}, got {value!r}"
            )
        values[key] = coerced
    try:
        return params_cls(**values)
    except TypeError as exc:  # a required field without default is missing
        raise ConfigError(f"{where}: {exc}") from None
    except ValueError as exc:  # __post_init__ checks of the component
        raise ConfigError(f"{where}: {exc}") from None


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
        out.append({"name": f.name, "type": _type_name(hints[f.name]), "default": default})
    return out


def params_to_dict(params) -> dict:
    return dataclasses.asdict(params) if params is not None else {}
