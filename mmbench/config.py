"""Run configs: YAML with sections dataset / encoder / reducer / model / train, plus --set overrides."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError
from .params import check_keys, did_you_mean

COMPONENT_SECTIONS = ("dataset", "encoder", "reducer", "model")
SECTIONS = COMPONENT_SECTIONS + ("train",)


@dataclass
class RunConfig:
    """A config as written by the user; component parameters are validated once plugins are known."""

    dataset: dict
    encoder: dict
    reducer: dict
    model: dict
    train: dict = field(default_factory=dict)
    source: str = "<config>"

    def section(self, name: str) -> dict:
        return getattr(self, name)

    def component_params(self, name: str) -> dict:
        """A component section without its ``name`` key."""
        return {k: v for k, v in self.section(name).items() if k != "name"}

    def to_dict(self) -> dict:
        return {s: copy.deepcopy(self.section(s)) for s in SECTIONS}


def _parse_scalar(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_override(raw: dict, assignment: str, source: str) -> None:
    """Apply ``key.sub=value`` (value parsed as YAML) to the raw config dict."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set train.seed=3")
    key, value = assignment.split("=", 1)
    parts = key.strip().split(".")
    if parts[0] not in SECTIONS:
        raise ConfigError(
            f"--set {key}: unknown section '{parts[0]}'{did_you_mean(parts[0], SECTIONS)}; "
            f"sections: {', '.join(SECTIONS)}"
        )
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: '{part}' is not a section in {source}")
        node = child
    node[parts[-1]] = _parse_scalar(value)


def from_dict(raw: dict, source: str = "<config>") -> RunConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with sections {', '.join(SECTIONS)}")
    check_keys(raw, SECTIONS, source, "top-level key")
    sections = {}
    for name in SECTIONS:
        value = raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: section '{name}' must be a mapping, got {value!r}")
        if name in COMPONENT_SECTIONS and not isinstance(value.get("name"), str):
            raise ConfigError(f"{source}: section '{name}' needs a 'name' (which {name} plugin to use)")
        sections[name] = copy.deepcopy(value)
    return RunConfig(**sections, source=source)


def read_yaml(path: str | Path, what: str = "config file") -> dict:
    """A YAML mapping from ``path``; a missing file or bad YAML is one error naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    return raw


def load(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    raw = read_yaml(path)
    for assignment in overrides or []:
        apply_override(raw, assignment, str(path))
    return from_dict(raw, str(path))

