"""Run configs: YAML with sections dataset / encoder / reducer / model / train, plus --set overrides."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..files import yamlfile
from ..errors import ConfigError, note, short
from ..contract.params import check_keys, did_you_mean

COMPONENT_SECTIONS = ("dataset", "encoder", "reducer", "model")
MAX_NAME = 200  # a component name longer than this is a paste accident, not a plugin
SECTIONS = COMPONENT_SECTIONS + ("train",)
#: train keys that change which repetition runs (seed) or where / how fast, not what is learned
NOT_TUNING = ("seed", "device", "threads", "eval_batch_size", "cpu_malloc_tuning")


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


def _parse_scalar(text: str, key: str = ""):
    try:
        return yamlfile.load(text, f"--set {key}")
    except yamlfile.DuplicateKeyError as exc:
        raise ConfigError(f"--set {short(key, 60)}: {exc.problem}") from None
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: an int past Python's digit limit
        return text


def _split_assignment(assignment: str) -> tuple[str, list[str], str]:
    if "=" not in assignment:
        raise ConfigError(f"--set {short(repr(assignment))}: expected KEY=VALUE, e.g. --set train.seed=3")
    key, value = assignment.split("=", 1)
    parts = key.strip().split(".")
    if parts[0] not in SECTIONS:
        raise ConfigError(
            f"--set {short(key, 60)}: unknown section '{short(parts[0], 40)}'{did_you_mean(parts[0], SECTIONS)}; "
            f"sections: {', '.join(SECTIONS)}"
        )
    if len(parts) < 2 or not all(parts):
        raise ConfigError(f"--set {short(key, 60)}: expected SECTION.KEY=VALUE, e.g. --set {parts[0]}.name=...")
    return key.strip(), parts, value


def apply_override(raw: dict, assignment: str, source: str) -> None:
    """Apply ``key.sub=value`` (value parsed as YAML) to the raw config dict."""
    key, parts, value = _split_assignment(assignment)
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {short(key, 60)}: '{part}' is not a section in {source}")
        node = child
    node[parts[-1]] = _parse_scalar(value, key)


def apply_overrides(raw: dict, overrides: list[str], source: str) -> None:
    """Apply every ``--set``.

    ``--set encoder.name=clip`` where the file names another encoder starts the section from the new
    component's defaults: the file's other keys in that section belonged to the old component, so
    they are dropped (a note names them) unless they are also given on the command line.
    """
    split = [_split_assignment(a) for a in overrides]
    for key, parts, value in split:
        section = parts[0]
        old = raw.get(section)
        if section not in COMPONENT_SECTIONS or parts[1:] != ["name"] or not isinstance(old, dict):
            continue
        new_name = _parse_scalar(value, key)
        if old.get("name") == new_name:
            continue
        given = {p[1] for _, p, _ in split if p[0] == section}
        dropped = sorted(str(k) for k in old if k != "name" and k not in given)
        raw[section] = {}
        if dropped:
            note(f"--set {key}={short(str(new_name), 40)} replaces {section} '{short(str(old.get('name')), 40)}' "
                 f"of {source}, so its {'key' if len(dropped) == 1 else 'keys'} {', '.join(dropped)} "
                 f"{'was' if len(dropped) == 1 else 'were'} dropped (the new {section} starts from its defaults; "
                 "give a key with --set to keep it)")
    for assignment in overrides:
        apply_override(raw, assignment, source)


def from_dict(raw: dict, source: str = "<config>", required: tuple[str, ...] = COMPONENT_SECTIONS) -> RunConfig:
    """A config from its raw mapping; every section of ``required`` must name its plugin (a command that
    uses fewer, like export-embeddings, which makes item vectors only, needs no model section)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with sections {', '.join(SECTIONS)}")
    check_keys(raw, SECTIONS, source, "top-level key")
    sections = {}
    for name in SECTIONS:
        value = raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: section '{name}' must be a mapping, got {short(repr(value))}")
        if name in COMPONENT_SECTIONS and value.get("name") is not None and not isinstance(value["name"], str):
            raise ConfigError(f"{source}: {name}.name must name the {name} plugin to use (a string), "
                              f"got {short(repr(value['name']))}")
        if name in required and not value.get("name"):
            raise ConfigError(f"{source}: section '{name}' needs a 'name' (which {name} plugin to use)")
        if name in COMPONENT_SECTIONS and len(value.get("name") or "") > MAX_NAME:
            raise ConfigError(f"{source}: {name}.name is {len(value['name']):,} characters long ("
                              f"{short(repr(value['name']), 40)}); give the name of an installed {name} plugin "
                              "(`mmbench plugins` lists them)")
        sections[name] = copy.deepcopy(value)
    return RunConfig(**sections, source=source)


def _kind(path: Path) -> str:
    import stat

    mode = path.stat().st_mode
    return next((name for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                                         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
                 if test(mode)), "not a file")


def read_yaml(path: str | Path, what: str = "config file") -> dict:
    """A YAML mapping from ``path``; a missing file or bad YAML is one error naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give the path of a YAML file")
    if not path.is_file():  # a FIFO, a socket or a device: reading it would wait for a writer, for ever
        raise ConfigError(f"{what} {path} is not a regular file ({_kind(path)}); mmbench reads configs from files: "
                          f"save it to one and give that path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path} is not UTF-8 text (line {line}: byte 0x{exc.object[exc.start]:02x} at "
                          f"offset {exc.start}); save it as UTF-8 YAML") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read ({exc.strerror or exc}); check its permissions") from None
    try:
        raw = yamlfile.load(text, str(path)) or {}  # the reader rejects control characters right here
    except yamlfile.DuplicateKeyError as exc:
        raise ConfigError(f"{path} line {exc.problem_mark.line + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.reader.ReaderError):  # a control character: it has a position, no mark
            line = text[: exc.position].count("\n") + 1
        where = f" line {line}" if line is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML ({short(problem, 120)})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML (nested too deeply for a config; "
                          f"sections hold mappings of plain values)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ConfigError(f"{path}: a value cannot be read ({short(str(exc), 120)}); "
                          f"write numbers of sensible size") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with sections {', '.join(SECTIONS)}")
    return raw


def load(path: str | Path, overrides: list[str] | None = None,
         required: tuple[str, ...] = COMPONENT_SECTIONS) -> RunConfig:
    raw = read_yaml(path)
    apply_overrides(raw, list(overrides or []), str(path))
    return from_dict(raw, str(path), required)

