"""The search file: a run config (the base) plus a ``tune:`` section with the search space.

```yaml
dataset: {name: microlens_1m_synth, scale: small}
encoder: {name: random, dim: 64}
reducer: {name: none}
model: {name: din}
train: {epochs: 8, patience: 2}
tune:
  study: din_small              # default: the file's stem
  trials: 20
  space:
    train.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    train.batch_size: [512, 1024, 2048]          # a list: one of these
    model.embedding_dim: {low: 16, high: 64, step: 16}
  sampler: tpe                  # tpe | random
  pruner: median                # median | halving | none
```
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ..run import config as config_mod
from ..files import paths
from ..errors import ConfigError, short
from ..contract.params import bounded, build_params, check_bounds, check_keys, did_you_mean
from ..sweep.plan import RayOptions, apply_override

TOP_KEYS = config_mod.SECTIONS + ("tune", "executor", "ray")
TUNABLE_SECTIONS = ("encoder", "reducer", "model", "train")
#: keys a search must not choose: the seed would select luck, the monitor changes what is measured
FORBIDDEN = {"train.seed": "tuning the seed selects luck, not a setting; give train.seed one value",
             "train.monitor": "the monitored metric is what the study optimises; set it once in train.monitor"}
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "none")
EXECUTORS = ("local", "ray")


@dataclass
class Dimension:
    """One searched key: a float or int range (optionally log or stepped), or a list of choices."""

    key: str  # section.field
    kind: str  # float | int | categorical
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: list | None = None

    def suggest(self, trial):
        if self.kind == "categorical":
            # Optuna stores choices as scalars: lists and mappings travel as their JSON text
            picked = trial.suggest_categorical(self.key, [self.encode(c) for c in self.choices])
            return self.decode(picked)
        if self.kind == "int":
            return trial.suggest_int(self.key, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    @staticmethod
    def encode(choice):
        return json.dumps(choice) if isinstance(choice, (list, dict)) else choice

    def decode(self, stored):
        if isinstance(stored, str) and any(isinstance(c, (list, dict)) for c in self.choices):
            try:
                return json.loads(stored)
            except ValueError:
                return stored
        return stored

    def contains(self, value) -> bool:
        """Whether the base config's value lies in the space (then it can be the first trial)."""
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            return False
        if self.step:
            k = (value - self.low) / self.step
            return abs(k - round(k)) < 1e-9
        return self.kind == "float" or float(value).is_integer()

    def describe(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(json.dumps(c) for c in self.choices)
        text = f"{self.kind} in [{self.low}, {self.high}]"
        return text + (" (log)" if self.log else "") + (f" step {self.step}" if self.step else "")


#: more trials, epochs or workers than any study has (and small enough for every storage's integers)
_MANY = 1_000_000


@dataclass
class PrunerOptions:
    name: str = "median"  # median | halving | none
    startup_trials: int = bounded(5, ge=0, le=_MANY)  # median: trials never pruned, to learn what a good curve is
    warmup_epochs: int = bounded(1, ge=0, le=_MANY)  # median: epochs of each trial before it may be pruned
    min_epochs: int = bounded(1, ge=1, le=_MANY)  # halving: epochs of the first rung
    reduction_factor: int = bounded(3, ge=2, le=_MANY)  # halving: keep the best 1/reduction_factor at each rung

    def __post_init__(self):
        check_bounds(self)


@dataclass
class TuneOptions:
    study: str = ""
    trials: int = bounded(20, ge=1, le=_MANY)
    space: dict = field(default_factory=dict)
    sampler: str = "tpe"
    seed: int | None = bounded(None, ge=0, le=2**32 - 1)  # the sampler's seed (None: random)
    startup_trials: int = bounded(10, ge=0, le=_MANY)  # tpe: random trials before its model of good/bad regions
    pruner: PrunerOptions = field(default_factory=PrunerOptions)
    storage: str | None = None  # an Optuna RDB URL; default sqlite under $MMBENCH_HOME/tune/
    defaults_first: bool = True  # trial 0 = the base config's values, when they lie in the space
    heartbeat: int = bounded(30, ge=1, le=86_400)  # seconds; a worker silent for 4x this long has its trial retried
    parallel: int = bounded(2, ge=1, le=4096)  # executor ray: trials at once

    def __post_init__(self):
        check_bounds(self)


@dataclass
class TuneSpec:
    base: dict  # run-config sections
    options: TuneOptions
    space: list[Dimension]
    executor: str = "local"
    ray: object = None
    source: str = "<search>"

    def config_for(self, values: dict) -> dict:
        """The run config of one trial: the base with the trial's values set."""
        raw = copy.deepcopy(self.base)
        for key, value in values.items():
            section, name = key.split(".", 1)
            raw.setdefault(section, {})[name] = copy.deepcopy(value)
        return raw


def _field_type(section: str, name: str, raw: dict, registry, where: str):
    """The annotation of ``section.name`` in its component's Params (or TrainParams)."""
    from ..run.trainer import TrainParams

    if section == "train":
        params_cls = TrainParams
    else:
        component = (raw.get(section) or {}).get("name")
        if not isinstance(component, str):
            raise ConfigError(f"{where}: the space searches '{section}.{name}' but section '{section}' has no name")
        params_cls = registry.get(section, component).params_cls
    fields = {f.name for f in dataclasses.fields(params_cls)} if params_cls is not None else set()
    if name not in fields:
        owner = "train" if section == "train" else f"{section} '{raw[section]['name']}'"
        raise ConfigError(f"{where}: {owner} has no parameter '{name}'{did_you_mean(name, fields)}; "
                          f"its parameters: {', '.join(sorted(fields)) or 'none'}")
    return typing.get_type_hints(params_cls)[name]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dimension(key: str, value, annotation, where: str) -> Dimension:
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: '{key}' lists no choices")
        return Dimension(key, "categorical", choices=value)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a list of choices or {{low: ..., high: ...}}, got {value!r}")
    check_keys(value, ("low", "high", "log", "step", "type"), f"{where}: '{key}'")
    low, high = value.get("low"), value.get("high")
    if not (_is_number(low) and _is_number(high)) or not -math.inf < low < high < math.inf:
        raise ConfigError(f"{where}: '{key}' needs numbers low < high, got low={low!r} high={high!r}")
    kind = value.get("type")
    if kind is None:
        ints = _is_number(low) and all(isinstance(v, int) for v in (low, high, value.get("step", 1)))
        kind = "int" if annotation is int or (annotation not in (float,) and ints) else "float"
    if kind not in ("int", "float"):
        raise ConfigError(f"{where}: '{key}'.type must be int or float, got {kind!r}")
    if kind == "int" and annotation is float:
        kind = "float"  # a float parameter accepts whole numbers; searching it as int would be a surprise
    if kind == "float" and annotation is int:
        raise ConfigError(f"{where}: '{key}' is an integer parameter: a float range would draw fractions; "
                          "drop 'type: float'")
    log, step = value.get("log", False), value.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: '{key}'.log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: '{key}' is searched on a log scale: low must be > 0, got {low}")
    if log and step is not None:
        raise ConfigError(f"{where}: '{key}': give log or step, not both")
    if step is not None and not (_is_number(step) and 0 < step < math.inf):
        raise ConfigError(f"{where}: '{key}'.step must be a positive number, got {step!r}")
    if kind == "int" and not all(isinstance(v, int) for v in (low, high)):
        raise ConfigError(f"{where}: '{key}' is an integer parameter: low and high must be integers")
    if step is not None:
        step = _checked_step(key, low, high, step, kind, where)
    return Dimension(key, kind, low, high, log, step)


def _checked_step(key: str, low, high, step, kind: str, where: str):
    """``step`` if the grid low, low + step, ... ends exactly at high (Optuna would otherwise move high
    silently, or divide by a zero integer step)."""
    if kind == "int":
        if not float(step).is_integer():
            raise ConfigError(f"{where}: '{key}' is an integer parameter: step must be a whole number, got {step!r}")
        step = int(step)
    if step > high - low:
        raise ConfigError(f"{where}: '{key}'.step {step} is larger than the range [{low}, {high}]: "
                          "only low could be drawn; use a smaller step or a list of values")
    count = (high - low) / step
    if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
        top = low + math.floor(count + 1e-9) * step
        raise ConfigError(f"{where}: '{key}': high - low ({high} - {low}) is not a multiple of step {step}, so "
                          f"{high} could never be drawn (the grid ends at {top:g}); set high to {top:g} or "
                          "change the step")
    return step


def from_dict(raw: dict, registry, source: str = "<search>") -> TuneSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with run sections and a 'tune:' section")
    check_keys(raw, TOP_KEYS, source, "top-level key")
    tune = raw.get("tune")
    if not isinstance(tune, dict) or not tune.get("space"):
        raise ConfigError(f"{source}: give a 'tune:' section with a 'space:' of keys to search, "
                          f"e.g. tune: {{space: {{train.lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}}}}}")
    tune = dict(tune)
    pruner = tune.pop("pruner", "median")
    if isinstance(pruner, str) or pruner is None:
        pruner = {"name": pruner or "none"}
    options = build_params(TuneOptions, tune, f"{source}: tune")
    options.pruner = build_params(PrunerOptions, pruner, f"{source}: tune.pruner")
    options.study = paths.check_name(options.study or Path(source).stem, f"{source}: tune.study")
    for name, value, allowed in (("sampler", options.sampler, SAMPLERS), ("pruner", options.pruner.name, PRUNERS)):
        if value not in allowed:
            raise ConfigError(f"{source}: tune.{name} must be one of {', '.join(allowed)}, got {value!r}")
    base = {s: copy.deepcopy(raw[s]) for s in config_mod.SECTIONS if raw.get(s) is not None}
    config_mod.from_dict(base, source)  # the base itself must be a valid run config
    space = []
    if not isinstance(options.space, dict):
        raise ConfigError(f"{source}: tune.space must map 'section.key' to a range or a list of choices")
    for key, value in options.space.items():
        section, _, name = str(key).partition(".")
        if section not in TUNABLE_SECTIONS or not name or "." in name:
            raise ConfigError(f"{source}: tune.space key '{key}' must be 'section.key' with section one of "
                              f"{', '.join(TUNABLE_SECTIONS)}, e.g. train.lr or model.embedding_dim")
        if key in FORBIDDEN:
            raise ConfigError(f"{source}: tune.space.{key}: {FORBIDDEN[key]}")
        space.append(_dimension(key, value, _field_type(section, name, base, registry, source), f"{source}: tune.space"))
    executor = raw.get("executor", "local")
    if executor not in EXECUTORS:
        raise ConfigError(f"{source}: executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    ray = build_params(RayOptions, raw.get("ray") or {}, f"{source}: ray")
    spec = TuneSpec(base, options, space, executor, ray, source)
    check_reachable(spec, registry)
    return spec


def edge_values(dim: Dimension) -> list:
    """The values of ``dim`` a trial can draw that validation could refuse: every choice of a list,
    both ends of a range, as the sampler returns them (a float range's ends as floats)."""
    if dim.kind == "categorical":
        return list(dim.choices)
    if dim.kind == "float":
        return [float(dim.low), float(dim.high)]
    return [int(dim.low), int(dim.high)]


def check_reachable(spec: TuneSpec, registry) -> None:
    """Resolve, as a run would, every edge value of every key (the others at the base's values), then
    all low ends together and all high ends together: a value the space can draw but a run refuses
    stops the search before any trial, with the search file and the key."""
    from ..run import pipeline

    def resolves(values: dict, key: str, what: str) -> None:
        try:
            pipeline.resolve(config_mod.from_dict(spec.config_for(values), spec.source), registry)
        except ConfigError as exc:
            reason = str(exc)
            reason = reason[len(spec.source) + 2:] if reason.startswith(spec.source + ": ") else reason
            raise ConfigError(f"{spec.source}: tune.space.{key}: a trial could draw {what}, which a run "
                              f"refuses: {reason}") from None

    for dim in spec.space:
        for value in edge_values(dim):
            resolves({dim.key: value}, dim.key, short(json.dumps(value), 60))
    if len(spec.space) > 1:
        for end, pick in (("first (low)", 0), ("last (high)", -1)):
            corner = {d.key: edge_values(d)[pick] for d in spec.space}
            resolves(corner, ", ".join(corner), f"the {end} value of every key at once "
                                                f"{short(json.dumps(corner), 120)}")


def load(path: str | Path, registry, overrides: list[str] | None = None) -> TuneSpec:
    raw = config_mod.read_yaml(path, "search file")
    for assignment in overrides or []:
        apply_override(raw, assignment, str(path), extra=("tune", "executor", "ray"))
    return from_dict(raw, registry, str(path))


def default_values(spec: TuneSpec, resolved_dict: dict) -> dict | None:
    """The base config's value of every searched key, if each lies in the space (else None)."""
    values = {}
    for dim in spec.space:
        section, name = dim.key.split(".", 1)
        value = resolved_dict.get(section, {}).get(name)
        if isinstance(value, tuple):
            value = list(value)
        if not dim.contains(value):
            return None
        values[dim.key] = Dimension.encode(value) if dim.kind == "categorical" else value
    return values
