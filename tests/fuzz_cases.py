"""Generators of bad (and borderline good) inputs for ``tests/test_fuzz.py``.

Nothing here lists bad inputs one by one: cases are derived from what mmbench declares, so a new
plugin parameter, a new column in the data layout or a new config section is fuzzed without anyone
adding it here:

- every field of every installed component's ``Params`` and of ``TrainParams`` gets values of the
  wrong type, values just outside and just inside its declared bounds, non-finite floats, every
  choice of a ``Literal``, and so on (:func:`config_value_cases`);
- every section of the config gets the wrong shape, a bad ``name``, an unknown key; the config file
  itself is truncated at many offsets, gets duplicate keys, bad bytes, YAML tags (:func:`config_text_cases`);
- every column of every file of the MMCTR layout (``mmbench.data.schema``) is dropped, retyped,
  nulled, pushed out of range, made non-finite or given lists of the wrong length; every file is
  removed, emptied, truncated, replaced by garbage, a folder, zero rows (:func:`data_cases`);
- output paths and the data root point at files, folders, nowhere (:func:`path_cases`).

Each :class:`Case` says what must happen: REJECT (exit 2, one ``error:`` line naming ``names``),
ACCEPT (the run goes on: to the training step, or to a correct leaderboard row) or EITHER (one of the
two, but always the promise: no traceback, one line, nothing half-written).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import yaml

from mmbench.data import schema
from mmbench.contract.params import _type_ok, bounds_of
from mmbench.run.trainer import TrainParams

REJECT, ACCEPT, EITHER = "reject", "accept", "either"
#: how far an accepted case runs: to the first training step, to the encoder, or to the recorded row
FIT, ENCODE, FULL = "fit", "encode", "full"

# ---------------------------------------------------------------------------------------------------
# the base config: small enough that an accepted case trains to its leaderboard row in a blink

#: small sections for the built-in components; a component not listed here runs with its defaults
SMALL = {
    ("dataset", "microlens_1m"): {},
    ("dataset", "microlens_1m_synth"): {"scale": "tiny", "world": 1},  # tiny_root is world 1
    ("encoder", "random"): {"dim": 16},
    ("encoder", "precomputed"): {"columns": ["item_emb_d128"]},
    ("encoder", "clip"): {"device": "cpu", "num_workers": 0},
    ("encoder", "openclip"): {"device": "cpu", "num_workers": 0},
    ("encoder", "text"): {"device": "cpu", "num_workers": 0},
    ("reducer", "pca"): {"dim": 8},
    ("reducer", "learned"): {"dim": 8},
    ("reducer", "rq"): {"levels": 2, "codes": 4, "iters": 5},
    ("reducer", "vq"): {"codes": 4, "iters": 5},
    ("model", "din"): {"embedding_dim": 4, "attention_hidden": [8], "dnn_hidden": [8]},
    ("model", "dcn"): {"embedding_dim": 4, "cross_layers": 1, "dnn_hidden": [8], "attention_hidden": [8]},
    ("model", "attention_dnn"): {"embedding_dim": 4, "attention_dim": 4, "num_heads": 1, "dnn_hidden": [8]},
    ("model", "qin"): {"embedding_dim": 4, "vector_dim": 4, "qnn_layers": 1, "num_row": 1},
    ("model", "transformer_dcn"): {"embedding_dim": 4, "vector_dim": 4, "transformer_layers": 1, "dim_feedforward": 8,
                                   "first_k": 2, "cross_layers": 1, "dnn_hidden": [8], "mlp_hidden": [8]},
}
#: encoders that need model weights: their cases stop when encoding would start (validation is done)
HEAVY_ENCODERS = {"clip", "openclip", "text"}
BASE_TRAIN = {"epochs": 1, "device": "cpu", "max_train_rows": 256, "batch_size": 128}
DATA_ROOT = "@DATA_ROOT@"
TINY_LABEL = "microlens_1m_synth-tiny-s0"  # what the session's tiny data is (tests/conftest.py: tiny_root)  # replaced by the case's data root when the config is written


def base_config(**sections) -> dict:
    """The fuzz base config with some sections replaced (``model={"name": "dcn"}`` gets dcn's SMALL)."""
    raw = {
        "dataset": {"name": "microlens_1m", "data_root": DATA_ROOT},
        "encoder": {"name": "random", **SMALL[("encoder", "random")]},
        "reducer": {"name": "pca", **SMALL[("reducer", "pca")]},
        "model": {"name": "din", **SMALL[("model", "din")]},
        "train": dict(BASE_TRAIN),
    }
    for section, value in sections.items():
        raw[section] = value
    return raw


def component_section(kind: str, name: str, **values) -> dict:
    section = {"name": name, **copy.deepcopy(SMALL.get((kind, name), {})), **values}
    if kind == "dataset":
        section.setdefault("data_root", DATA_ROOT)
    return section


# ---------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One bad input and what must come of it.

    ``config`` is a raw config dict (``DATA_ROOT`` is filled in) or ``text`` the config file's bytes;
    ``sets`` are ``--set`` arguments; ``data`` corrupts a copy of the tiny data root; ``argv`` builds a
    whole command line from the workspace (path cases) and ``env`` sets environment variables.
    ``row`` lists ``(section, key, value)`` that an accepted case's leaderboard row must record.
    """

    id: str
    klass: str
    expect: str
    names: tuple[str, ...] = ()
    stop: str = FIT
    config: dict | None = None
    text: bytes | None = None
    sets: tuple[str, ...] = ()
    data: "Corruption | None" = None
    argv: Callable | None = None
    env: dict = field(default_factory=dict)
    row: tuple = ()
    dataset_label: str | None = None  # the ``dataset`` an accepted row must carry
    shows: tuple[str, ...] = ()  # text the output must show as it is (a name with brackets: no markup)
    check: Callable | None = None  # (workspace, stdout) -> problems, for what a case writes
    after: Callable | None = None  # (workspace) -> problems: what else an accepted case must have done


@dataclass
class Corruption:
    """A change to one path of the data root: ``table`` rewrites a parquet file's table, ``raw`` writes
    the path itself (bytes, a folder, nothing)."""

    path: str
    table: Callable[[pa.Table], pa.Table] | None = None
    raw: Callable[[Path, Path], None] | None = None  # (target path, original path)
    row_group_size: int | None = None


# --------------------------------------------------------------------------------- config values


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _optional(hint) -> tuple[object, bool]:
    """(the hint without None, whether None is allowed)."""
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", typing.Union)):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), len(args) < len(typing.get_args(hint))
    return hint, False


def _edges(bound, integral: bool):
    """(rejected, accepted-low, accepted-high) values at the edges of a numeric bound."""
    step = 1 if integral else None
    rejected, low, high = [], [], []
    if bound is None or bound.pattern is not None:
        return rejected, low, high
    if bound.ge is not None:
        low.append(int(bound.ge) if integral else float(bound.ge))
        below = bound.ge - 1 if integral else bound.ge - max(1e-6, abs(bound.ge) * 1e-6)
        rejected.append(int(below) if integral else below)
    if bound.gt is not None:
        low.append(int(bound.gt) + 1 if integral else bound.gt + (1e-9 if bound.gt == 0 else abs(bound.gt) * 1e-6))
        rejected.append(int(bound.gt) if integral else float(bound.gt))
        rejected.append(int(bound.gt) - 1 if integral else bound.gt - 1.0)
    if bound.le is not None:
        high.append(int(bound.le) if integral else float(bound.le))
        rejected.append(int(bound.le) + (step or 0) if integral else bound.le + max(1e-6, abs(bound.le) * 1e-6))
    if bound.lt is not None:
        high.append(int(bound.lt) - 1 if integral else bound.lt - 1e-3)
        rejected.append(int(bound.lt) if integral else float(bound.lt))
    if integral and bound.also:
        rejected.append(int(min(bound.also)) - 1)
    rejected = sorted({v for v in rejected if not bound.ok(v)})
    low += [a for a in bound.also if isinstance(a, (int, float))]
    return rejected, low, high


def field_values(params_cls, f: dataclasses.Field, hint) -> list[tuple[str, object, str, str]]:
    """(label, value, expectation, how far an accepted value runs) for one Params field."""
    hint, nullable = _optional(hint)
    origin = typing.get_origin(hint)
    bound = bounds_of(params_cls, f)
    out = []
    wrong_shapes = [("dict", {"x": 1}), ("nested-list", [[1]])]
    if not nullable:
        out.append(("null", None, REJECT, FIT))
    else:
        out.append(("null", None, ACCEPT, FULL))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # ``str | list[str]``: each member's cases, less those another member's type takes
        for member in typing.get_args(hint):
            others = [m for m in typing.get_args(hint) if m is not member]
            name = getattr(typing.get_origin(member) or member, "__name__", "member")
            out += [(f"{name}-{label}", value, expect, stop)
                    for label, value, expect, stop in field_values(params_cls, f, member)[1:]
                    if not any(_type_ok(value, m)[0] for m in others)]
        return out
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        out += [(f"choice-{c}", c, ACCEPT, FULL) for c in choices]
        out += [("not-a-choice", "no_such_choice", REJECT, FIT), ("int", 3, REJECT, FIT)]
        out += [(label, v, REJECT, FIT) for label, v in wrong_shapes]
        return out
    if hint is bool:
        return out + [("true", True, ACCEPT, FULL), ("false", False, ACCEPT, FULL), ("int-2", 2, REJECT, FIT),
                      ("word", "maybe", REJECT, FIT), ("list", [True], REJECT, FIT)]
    if hint is int:
        rejected, low, high = _edges(bound, integral=True)
        out += [("string", "x", REJECT, FIT), ("float", 1.5, REJECT, FIT), ("bool", True, REJECT, FIT),
                ("list", [1], REJECT, FIT), ("numeric-string", "12", REJECT, FIT)]
        out += [(label, v, REJECT, FIT) for label, v in wrong_shapes]
        out += [(f"out-of-range-{v}", v, REJECT, FIT) for v in rejected]
        out += [(f"edge-{v}", v, ACCEPT, FULL) for v in low]
        out += [(f"edge-{v}", v, ACCEPT, FIT) for v in high]
        if bound is None or (bound.le is None and bound.lt is None):
            out.append(("huge", 10**30, EITHER, FIT))
        if bound is None:
            out += [("negative", -1, EITHER, FIT), ("zero", 0, EITHER, FIT)]
        return out
    if hint is float:
        rejected, low, high = _edges(bound, integral=False)
        out += [("nan", math.nan, REJECT, FIT), ("inf", math.inf, REJECT, FIT), ("-inf", -math.inf, REJECT, FIT),
                ("string", "x", REJECT, FIT), ("bool", True, REJECT, FIT), ("list", [1.0], REJECT, FIT),
                ("string-nan", "nan", REJECT, FIT)]
        out += [(label, v, REJECT, FIT) for label, v in wrong_shapes]
        out += [(f"out-of-range-{v:g}", v, REJECT, FIT) for v in rejected]
        out += [(f"edge-{v:g}", v, ACCEPT, FULL) for v in low]
        out += [(f"edge-{v:g}", v, ACCEPT, FIT) for v in high]
        if bound is None or (bound.le is None and bound.lt is None):
            out.append(("huge", 1e300, EITHER, FIT))
        return out
    if hint is str:
        out += [("int", 5, REJECT, FIT), ("list", ["a"], REJECT, FIT), ("dict", {"x": 1}, REJECT, FIT)]
        if bound is not None and bound.pattern is not None:
            out += [("not-matching", "no_such_value", REJECT, FIT), ("upper-case", "CPU", REJECT, FIT)]
        else:
            out += [("empty", "", EITHER, FIT), ("long", "x" * 5000, EITHER, FIT)]
        return out
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (typing.Any,)
        out += [("scalar", 5, REJECT, FIT), ("string", "x", REJECT, FIT), ("dict", {"x": 1}, REJECT, FIT)]
        if item is int:
            rejected, low, _ = _edges(bound, integral=True)
            out += [("string-item", ["a"], REJECT, FIT), ("float-item", [1.5], REJECT, FIT),
                    ("nested", [[1]], REJECT, FIT), ("null-item", [None], REJECT, FIT), ("empty", [], EITHER, FULL)]
            out += [(f"item-out-of-range-{v}", [8, v], REJECT, FIT) for v in rejected]
            out += [(f"item-edge-{v}", [v], ACCEPT, FULL) for v in low]
            out.append(("long-list", [1] * 40, EITHER, FIT))
        elif item is str:
            out += [("int-item", [5], REJECT, FIT), ("null-item", [None], REJECT, FIT), ("empty", [], EITHER, FIT),
                    ("unknown-item", ["no_such_value"], EITHER, FIT), ("long-item", ["x" * 5000], EITHER, FIT)]
        return out
    if origin is dict:
        return out + [("scalar", 5, REJECT, FIT), ("list", [1], REJECT, FIT), ("empty", {}, EITHER, FIT)]
    return out


def _accepted_stop(kind: str, name: str, label: str, stop: str) -> str:
    if stop == FULL and kind == "encoder" and name in HEAVY_ENCODERS:
        return ENCODE
    if stop == FIT and kind == "encoder" and name in HEAVY_ENCODERS:
        return ENCODE
    return stop


def _value_case(section: str, kind: str, name: str | None, key: str, label: str, value, expect: str, stop: str,
                config: dict, coerced=None) -> Case:
    where = f"{section}.{key}" if name is None else f"{section}:{name}.{key}"
    row = ((section, key, coerced if coerced is not None else value),) if expect == ACCEPT and stop == FULL else ()
    return Case(id=f"value/{where}={label}", klass="config value", expect=expect,
                names=(key,) if name is None else (section, key), stop=stop, config=config, row=row)


def config_value_cases(registry) -> list[Case]:
    """Every field of every installed component's Params, and of TrainParams."""
    cases, seen = [], set()
    for kind in ("dataset", "encoder", "reducer", "model"):
        for name, comp in sorted(registry.components[kind].items()):
            cls = comp.params_cls
            if cls is None:
                cases.append(Case(id=f"value/{kind}:{name}.takes_nothing", klass="config value", expect=REJECT,
                                  names=(kind,), config=base_config(**{kind: component_section(kind, name, x=1)})))
                continue
            hints = _hints(cls)
            for f in dataclasses.fields(cls):
                if kind == "dataset" and f.name == "data_root":
                    continue  # path_cases covers it
                signature = (kind, f.name, repr(hints[f.name]), repr(bounds_of(cls, f)), repr(f.default))
                if signature in seen:
                    continue  # a field shared through a base class (clip/openclip/text) is fuzzed once
                seen.add(signature)
                for label, value, expect, stop in field_values(cls, f, hints[f.name]):
                    if kind == "model" and stop == FIT and label.startswith("edge-"):
                        continue  # the widest model a bound allows is not built in a test
                    section = component_section(kind, name, **{f.name: value})
                    stop = _accepted_stop(kind, name, label, stop)
                    config = base_config(**{kind: section})
                    if kind == "encoder":  # any width the encoder may give must fit the reducer
                        config["reducer"] = {"name": "none"}
                    case = _value_case(kind, kind, name, f.name, label, value, expect, stop, config,
                                       _coerce(value, hints[f.name]))
                    if (kind, name) == ("dataset", "microlens_1m_synth") and expect == ACCEPT:
                        # data_root holds the tiny seed-0 data whatever scale/seed say: a row must be
                        # labelled with what was measured (or the mismatch refused)
                        case.expect, case.stop, case.dataset_label = EITHER, FULL, TINY_LABEL
                    cases.append(case)
            cases.append(Case(id=f"value/{kind}:{name}.unknown-key", klass="config value", expect=REJECT,
                              names=("no_such_key",),
                              config=base_config(**{kind: component_section(kind, name, no_such_key=1)})))
    hints = _hints(TrainParams)
    for f in dataclasses.fields(TrainParams):
        for label, value, expect, stop in field_values(TrainParams, f, hints[f.name]):
            if f.name in ("compile", "amp", "threads") and stop == FULL:
                stop = FIT  # torch.compile takes minutes; threads would change the whole test process
            train = {**BASE_TRAIN, f.name: value}
            cases.append(_value_case("train", "train", None, f.name, label, value, expect, stop,
                                     base_config(train=train), _coerce(value, hints[f.name])))
    cases.append(Case(id="value/train.unknown-key", klass="config value", expect=REJECT, names=("no_such_key",),
                      config=base_config(train={**BASE_TRAIN, "no_such_key": 1})))
    return cases


def _coerce(value, hint):
    hint, _ = _optional(hint)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return None


# --------------------------------------------------------------------------- config shape and text


def config_structure_cases(registry) -> list[Case]:
    """Each section with the wrong shape, a bad name, or missing; the top level the wrong shape."""
    cases = []
    for section in ("dataset", "encoder", "reducer", "model", "train"):
        for label, value in [("list", [1, 2]), ("string", "din"), ("int", 3), ("true", True)]:
            cases.append(Case(id=f"structure/{section}={label}", klass="config structure", expect=REJECT,
                              names=(section,), config=base_config(**{section: value})))
        if section == "train":
            cases.append(Case(id="structure/train=null", klass="config structure", expect=ACCEPT, stop=FIT,
                              config=base_config(train=None)))
            continue
        good = base_config()[section]
        for label, value in [("null", None), ("missing-name", {k: v for k, v in good.items() if k != "name"}),
                             ("empty-name", {**good, "name": ""}), ("int-name", {**good, "name": 5}),
                             ("list-name", {**good, "name": [good["name"]]}), ("dict-name", {**good, "name": {"a": 1}}),
                             ("unknown-name", {**good, "name": "no_such_component"}),
                             ("upper-case-name", {**good, "name": good["name"].upper()}),
                             ("long-name", {**good, "name": "n" * 5000})]:
            cases.append(Case(id=f"structure/{section}.{label}", klass="config structure", expect=REJECT,
                              names=(section,), config=base_config(**{section: value})))
        raw = base_config()
        del raw[section]
        cases.append(Case(id=f"structure/{section}-missing", klass="config structure", expect=REJECT,
                          names=(section,), config=raw))
    for label, value in [("unknown-top-key", {**base_config(), "trian": {}}), ("int-top-key", {**base_config(), 3: 4})]:
        cases.append(Case(id=f"structure/{label}", klass="config structure", expect=REJECT, config=value))
    return cases


def _dump(raw: dict) -> str:
    return yaml.safe_dump(raw, sort_keys=False)


def config_text_cases() -> list[Case]:
    """The config file's bytes: duplicate keys, truncation, bad encodings, YAML features it must refuse."""
    good = _dump(base_config())
    cases = []
    lines = good.splitlines(keepends=True)
    # a key given twice, at the top level and inside each section
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("-"):
            key = line.strip().split(":")[0]
            dup = "".join(lines[: i + 1] + [line] + lines[i + 1:])
            cases.append(Case(id=f"yaml/duplicate-line{i + 2}-{key}", klass="yaml", expect=REJECT,
                              names=(key, f"line {i + 2}"), text=dup.encode()))
    # truncated at every 16th byte: a prefix is either refused or a valid (smaller) config
    data = good.encode()
    for cut in range(0, len(data), 16):
        cases.append(Case(id=f"yaml/truncated-at-{cut}", klass="yaml", expect=EITHER, text=data[:cut]))
    bad = {
        "unclosed-bracket": b"dataset: [unclosed\n",
        "tab-indent": good.replace("  name: din", "\tname: din").encode(),
        "latin-1": good.replace("din", "d\xefn").encode("latin-1"),
        "binary-garbage": bytes(range(256)) * 4,
        "nul-bytes": b"\x00" * 64,
        "python-tag": b"model: !!python/object/apply:os.system ['echo pwned']\n" + data,
        "custom-tag": data.replace(b"name: din", b"name: !din din"),
        "top-level-list": b"- dataset\n- model\n",
        "top-level-scalar": b"42\n",
        "empty": b"",
        "only-comment": b"# nothing here\n",
        "two-documents": data + b"---\n" + data,
        "anchor-bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "alias-into-train": data.replace(b"epochs: 1", b"epochs: &e 1\n  patience: *e"),
        "deep-nesting": b"model: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "huge-int": data.replace(b"epochs: 1", b"epochs: 1" + b"0" * 5000),
        "merge-key": data.replace(b"train:\n", b"base: &b {epochs: 1}\ntrain:\n  <<: *b\n"),
    }
    for label, text in bad.items():
        cases.append(Case(id=f"yaml/{label}", klass="yaml", expect=EITHER if label in ("alias-into-train",) else REJECT,
                          text=text))
    cases.append(Case(id="yaml/utf8-bom", klass="yaml", expect=EITHER, stop=FIT, text=b"\xef\xbb\xbf" + data))
    cases.append(Case(id="yaml/crlf", klass="yaml", expect=ACCEPT, stop=FIT, text=data.replace(b"\n", b"\r\n")))
    return cases


REPO = Path(__file__).resolve().parents[1]
#: every kind of YAML file a command reads: (label, the file's data, the command line for a file path)
YAML_FILE_KINDS = {
    "run": (lambda: base_config(), lambda ws, path: ["run", path, "--leaderboard-dir", ws.lb]),
    "sweep": (lambda: yaml.safe_load((REPO / "configs/sweeps/example.yaml").read_text()),
              lambda ws, path: ["sweep", path, "--dry-run", "--leaderboard-dir", ws.lb]),
    "tune": (lambda: yaml.safe_load((REPO / "configs/tune/din_tiny.yaml").read_text()),
             lambda ws, path: ["tune", path, "--dry-run", "--leaderboard-dir", ws.lb]),
    "task1": (lambda: yaml.safe_load((REPO / "configs/task1_baseline.yaml").read_text()),
              lambda ws, path: ["task1", path, "--leaderboard-dir", ws.lb]),
}


def _one_line_with(value, path: tuple, key) -> str:
    """``value`` as one line of flow YAML (JSON is flow YAML), the mapping at ``path`` giving ``key`` twice."""
    if isinstance(value, dict):
        items = [f"{json.dumps(str(k))}: {_one_line_with(v, path[1:] if path and k == path[0] else (None,), key)}"
                 for k, v in value.items()]
        if path == ():
            items.append(f"{json.dumps(str(key))}: {json.dumps(value[key])}")
        return "{" + ", ".join(items) + "}"
    return json.dumps(value)


def _mappings(value, path=()):
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from _mappings(v, path + (k,))


def duplicate_key_cases() -> list[Case]:
    """Every key of every mapping of every file kind given twice on one line (``{dim: 16, dim: 8}``)."""
    cases = []
    for kind, (data, command) in YAML_FILE_KINDS.items():
        raw = data()
        for path, mapping in _mappings(raw):
            for key in mapping:
                text = _one_line_with(raw, path, key).encode()
                where = ".".join(map(str, path + (key,)))
                cases.append(Case(id=f"duplicate-key/{kind}/{where}", klass="duplicate key", expect=REJECT,
                                  names=(f"'{key}'", "line 1", "given twice"),
                                  argv=lambda ws, t=text, c=command: c(ws, ws.write_config(t, "file.yaml"))))
    flagship = b"reducer: {name: pca, dim: 16, dim: 8}\n"
    cases.append(Case(id="duplicate-key/run/reducer-dim-16-then-8", klass="duplicate key", expect=REJECT,
                      names=("'dim'", "line 7", "same line"),
                      text=_dump({k: v for k, v in base_config().items() if k != "reducer"}).encode()
                      .replace(b"model:", flagship + b"model:")))
    cases.append(Case(id="duplicate-key/set-value", klass="duplicate key", expect=REJECT, names=("'a'", "--set reducer.dim"),
                      sets=("reducer.dim={a: 16, a: 8}",), config=base_config()))
    return cases


def override_cases() -> list[Case]:
    """``--set`` arguments, well and badly formed; component switches start from the new defaults."""
    bad = ["train.lr", "=5", "train.=3", ".lr=3", "train..lr=3", "train.lr.x=3", "model.name=", "trainer.lr=1",
           "model.name=no_such_model", "train.lr=[1, 2]", "train.lr={a: 1}", "train.epochs=1e3",
           "model.embedding_dim=x", "dataset.data_root=[1]", "train.seed=" + "9" * 5000, "model=din",
           "train.epochs=[unclosed", "encoder.dim=-1", "model.no_such_key=1"]
    cases = [Case(id=f"set/{s[:40]}", klass="override", expect=REJECT, sets=(s,), config=base_config()) for s in bad]
    good = [("model.name=dcn", ("model", "name", "dcn")), ("model.name=attention_dnn", ("model", "name", "attention_dnn")),
            ("encoder.name=precomputed", ("encoder", "name", "precomputed")), ("reducer.name=none", ("reducer", "name", "none")),
            ("reducer.name=learned", ("reducer", "name", "learned")), ("encoder.dim=0x10", ("encoder", "dim", 16)),
            ("train.lr=1e-3", ("train", "lr", 0.001)), ("train.seed=7", ("train", "seed", 7))]
    cases += [Case(id=f"set/{s}", klass="override", expect=ACCEPT, stop=FULL, sets=(s,), config=base_config(),
                   row=(row,)) for s, row in good]
    cases.append(Case(id="set/dataset.name=microlens_1m_synth", klass="override", expect=ACCEPT, stop=FIT,
                      sets=("dataset.name=microlens_1m_synth", "dataset.scale=tiny", "dataset.world=1",
                            f"dataset.data_root={DATA_ROOT}"),
                      config=base_config()))
    cases.append(Case(id="set/encoder.name=clip", klass="override", expect=ACCEPT, stop=ENCODE,
                      sets=("encoder.name=clip",), config=base_config()))
    return cases


# ------------------------------------------------------------------------------------------- data

#: columns the run reads on every run (the others are read only by an encoder that asks for them)
READ_ALWAYS = {
    "train.parquet": "all", "valid.parquet": "all", "test.parquet": "all",
    "item_info.parquet": {"item_id", "item_tags"},
    "item_feature.parquet": {"item_id", "item_title", "likes_level", "views_level"},
}


def _reads(spec: schema.FileSpec, column: str | None) -> tuple[bool, dict | None]:
    """(whether a run with the returned encoder section reads this column/file, that encoder or None)."""
    file = spec.path.rsplit("/", 1)[-1]
    if (file, column) in schema.SHIPPED_EMBEDDINGS:
        return True, {"name": "precomputed", "columns": [column]}
    if file == "item_emb.parquet":
        return True, {"name": "precomputed", "columns": ["item_emb_d128_v1"]}
    read = READ_ALWAYS.get(file, set())
    return (read == "all" or column in read or (column is None and bool(read))), None


def _set(table: pa.Table, name: str, array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, array)


def _col(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _with_null(table, name, row=3):
    col = _col(table, name)
    rows = col.to_pylist()
    rows[row] = None
    return _set(table, name, pa.array(rows, col.type))


def _scalar_value(table, name, value, row=3):
    values = _col(table, name).to_numpy(zero_copy_only=False).copy()
    values[row] = value
    return _set(table, name, pa.array(values))


def _list_values(col) -> tuple[np.ndarray, int]:
    flat = col.flatten().to_numpy(zero_copy_only=False).copy()
    return flat, len(col)


def _list_element(table, name, value, row=3):
    """One element in the middle of row ``row``'s list set to ``value``."""
    col = _col(table, name)
    rows = col.to_pylist()
    rows[row] = list(rows[row])
    rows[row][len(rows[row]) // 2] = value
    return _set(table, name, pa.array(rows, col.type))


def _list_lengths(table, name, delta, row=3):
    """Row ``row`` one element shorter (delta -1) or longer (+1), as a variable-length list."""
    col = _col(table, name)
    rows = col.to_pylist()
    rows[row] = rows[row][:-1] if delta < 0 else rows[row] + rows[row][-1:]
    return _set(table, name, pa.array(rows, pa.list_(col.type.value_type)))


def _as_variable_list(table, name):
    col = _col(table, name)
    return _set(table, name, pa.array(col.to_pylist(), pa.list_(col.type.value_type)))


def _narrow_fixed(table, name):
    col = _col(table, name)
    width = col.type.list_size - 1
    rows = [r[:width] for r in col.to_pylist()]
    return _set(table, name, pa.array(rows, pa.list_(col.type.value_type, width)))


def _first_of_list(table, name):
    col = _col(table, name)
    return _set(table, name, pa.array([r[0] if r else None for r in col.to_pylist()], col.type.value_type))


def _scalar_to_list(table, name):
    col = _col(table, name)
    return _set(table, name, pa.array([[v] for v in col.to_pylist()], pa.list_(col.type)))


def _cast(type_):
    def edit(table, name):
        col = _col(table, name)
        if type_ == "string":
            return _set(table, name, pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string()))
        if _is_list(col.type) and not _is_list(type_):
            return _set(table, name, pa.array(col.to_pylist(), pa.list_(type_)))
        return _set(table, name, col.cast(type_, safe=False))
    return edit


def _is_list(t) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _bad_utf8(table, name, row=4):
    col = _col(table, name)
    values = [s.encode() if s is not None else b"" for s in col.to_pylist()]
    values[row] = b"caf\xe9 \xff"
    binary = pa.array(values, pa.binary())
    return _set(table, name, pa.Array.from_buffers(pa.string(), len(values), binary.buffers()[:3]))


def _strings(value, row=4):
    def edit(table, name):
        col = _col(table, name)
        values = col.to_pylist()
        values[row] = value
        return _set(table, name, pa.array(values, pa.string()))
    return edit


def _table_edit(fn, *args):
    return lambda table, name: fn(table, name, *args)


def column_corruptions(spec: schema.FileSpec, column: schema.Column) -> list[tuple[str, Callable, str]]:
    """(label, edit(table, column) -> table, damage) for one column: damage is 'bad' (must be refused
    when the column is read), 'benign' (must be accepted) or 'either'."""
    t = column.type
    out = [("dropped", lambda table, name: table.drop_columns([name]), "bad"),
           ("to-string", _cast("string"), "bad" if not pa.types.is_string(t) else "benign")]
    if pa.types.is_fixed_size_list(t) or pa.types.is_list(t):
        out.append(("null", _with_null, "bad"))
        out += [("shorter-row", _table_edit(_list_lengths, -1), "bad" if pa.types.is_fixed_size_list(t) else "benign"),
                ("longer-row", _table_edit(_list_lengths, +1), "bad" if pa.types.is_fixed_size_list(t) else "benign"),
                ("scalar", _first_of_list, "bad")]
        if pa.types.is_fixed_size_list(t):
            out += [("variable-list", _as_variable_list, "benign"), ("narrower", _narrow_fixed, "bad")]
        if pa.types.is_integer(t.value_type):
            out += [("element-negative", _table_edit(_list_element, -1), "bad"),
                    ("element-huge", _table_edit(_list_element, 2**40), "bad"),
                    ("element-float", _cast(pa.float64()), "bad")]
        else:
            out += [("element-nan", _table_edit(_list_element, math.nan), "bad"),
                    ("element-inf", _table_edit(_list_element, math.inf), "bad"),
                    ("element--inf", _table_edit(_list_element, -math.inf), "bad"),
                    ("float64", _cast(pa.float64()), "benign"),
                    ("element-1e38", _table_edit(_list_element, 1e38), "bad"),  # finite, but overflows float32 math
                    ("element-int", _cast(pa.int64()), "either")]
    elif pa.types.is_integer(t):
        out += [("null", _with_null, "bad"), ("negative", _table_edit(_scalar_value, -1), "bad"),
                ("huge", _table_edit(_scalar_value, 2**40), "bad"), ("int32", _cast(pa.int32()), "benign"),
                ("uint8", _cast(pa.uint8()), "either"), ("float", _cast(pa.float64()), "either"),
                ("list", _scalar_to_list, "bad")]
    elif pa.types.is_string(t):
        out += [("null", _with_null, "benign"), ("bad-utf8", _bad_utf8, "bad"), ("empty", _strings(""), "benign"),
                ("long", _strings("long title " * 20_000), "benign"), ("control-chars", _strings("\x00\x1b[31m\u202e"), "benign"),
                ("binary", _cast(pa.binary()), "either"), ("large-string", _cast(pa.large_string()), "benign")]
    return out


def _zero_rows(table):
    return table.slice(0, 0)


def _one_row(table):
    return table.slice(0, 1)


def _duplicate_rows(table):
    return pa.concat_tables([table, table.slice(0, 5)])


def _extra_column(table):
    return table.append_column("extra_from_another_tool", pa.array(np.arange(len(table))))


def _reversed_columns(table):
    return table.select(list(reversed(table.column_names)))


def _shuffled_rows(table):
    return table.take(pa.array(np.random.default_rng(0).permutation(len(table))))


def _truncate(fraction):
    def write(path: Path, original: Path) -> None:
        data = original.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
    return write


def _write_bytes(data: bytes):
    return lambda path, original: path.write_bytes(data)


def _make_dir(path: Path, original: Path) -> None:
    path.mkdir()


def _remove(path: Path, original: Path) -> None:
    pass


def _label_all(value):
    return lambda table: _set(table, "label", pa.array(np.full(len(table), value, np.int64)))


def file_corruptions(spec: schema.FileSpec) -> list[tuple[str, Corruption, str]]:
    """(label, corruption, damage) for one file of the layout."""
    p = spec.path
    split = p.rsplit("/", 1)[-1].split(".")[0]
    out = [
        ("missing", Corruption(p, raw=_remove), "bad"),
        ("zero-bytes", Corruption(p, raw=_write_bytes(b"")), "bad"),
        ("truncated-half", Corruption(p, raw=_truncate(0.5)), "bad"),
        ("truncated-tail", Corruption(p, raw=_truncate(0.98)), "bad"),
        ("garbage", Corruption(p, raw=_write_bytes(b"PAR1" + bytes(range(256)) * 8)), "bad"),
        ("csv-text", Corruption(p, raw=_write_bytes(b"user_id,item_id,label\n1,2,0\n")), "bad"),
        ("a-folder", Corruption(p, raw=_make_dir), "bad"),
        ("zero-rows", Corruption(p, table=_zero_rows), "bad" if split in ("train", "valid", "item_info") else "either"),
        ("one-row", Corruption(p, table=_one_row), "bad" if split in ("train", "valid", "item_info") else "either"),
        ("duplicate-rows", Corruption(p, table=_duplicate_rows),
         "benign" if split in ("train", "valid") else "bad" if split in ("test", "item_info", "item_feature") else "either"),
        ("extra-column", Corruption(p, table=_extra_column), "benign"),
        ("reversed-columns", Corruption(p, table=_reversed_columns), "benign"),
        ("shuffled-rows", Corruption(p, table=_shuffled_rows), "benign"),
        ("small-row-groups", Corruption(p, table=lambda t: t, row_group_size=7), "benign"),
    ]
    if "label" in spec.names:
        out += [("labels-all-0", Corruption(p, table=_label_all(0)), "bad"),
                ("labels-all-1", Corruption(p, table=_label_all(1)), "bad"),
                ("label-2", Corruption(p, table=lambda t: _scalar_value(t, "label", 2)), "bad"),
                ("label-float", Corruption(p, table=lambda t: _cast(pa.float64())(t, "label")), "either")]
    if "ID" in spec.names:
        out.append(("ID-repeated", Corruption(p, table=lambda t: _scalar_value(t, "ID", 0, row=5)), "bad"))
    return out


def _expect(reads: bool, damage: str) -> str:
    if not reads:
        return ACCEPT
    return {"bad": REJECT, "benign": ACCEPT, "either": EITHER}[damage]


def _data_stop(reads: bool, expect: str) -> str:
    """Data is read before training: a change to data the run does not read needs no training; a
    change the run reads and accepts trains to its row (it must be a correct one)."""
    return FULL if reads and expect != REJECT else FIT


def data_cases() -> list[Case]:
    cases = []
    for spec in schema.ALL_FILES:
        file = spec.path.rsplit("/", 1)[-1]
        for column in spec.columns:
            reads, encoder = _reads(spec, column.name)
            config = base_config(**({"encoder": encoder} if encoder else {}))
            for label, edit, damage in column_corruptions(spec, column):
                expect = _expect(reads, damage)
                corruption = Corruption(spec.path, table=(lambda e, c: lambda table: e(table, c))(edit, column.name))
                cases.append(Case(id=f"data/{file}:{column.name}/{label}", klass="data column", expect=expect,
                                  names=(file, column.name), stop=_data_stop(reads, expect), config=config,
                                  data=corruption))
        readers = [_reads(spec, None)]
        if file == "item_emb.parquet":
            readers = [(False, None), (True, {"name": "precomputed", "columns": ["item_emb_d128_v1"]})]
        for reads, encoder in readers:
            config = base_config(**({"encoder": encoder} if encoder else {}))
            suffix = "/precomputed" if encoder else ""
            for label, corruption, damage in file_corruptions(spec):
                expect = _expect(reads, damage)
                cases.append(Case(id=f"data/{file}/{label}{suffix}", klass="data file", expect=expect,
                                  names=(file,), stop=_data_stop(reads, expect), config=config, data=corruption))
    cases += data_root_cases()
    return cases


def data_root_cases() -> list[Case]:
    """The data root as a whole: foreign files, folders where files belong, the covers folder."""
    def foreign(rel, content):
        return Corruption(rel, raw=_write_bytes(content))
    accepted = {
        "oracle-by-another-tool": foreign("oracle.json", b'{"valid_auc": "n/a", "tool": "other"}'),
        "oracle-garbage": foreign("oracle.json", b"\xff\xfe{"),
        "oracle-a-folder": Corruption("oracle.json", raw=_make_dir),
        "oracle-auc-out-of-range": foreign("oracle.json", b'{"generator": "mmbench.data.synth", "valid_auc": 7}'),
        "oracle-a-list": foreign("oracle.json", b"[1, 2]"),
        "readme": foreign("README.md", b"# another tool's notes\n"),
        "extra-parquet": foreign("item_extra.parquet", b"not even parquet"),
        "extra-split-file": foreign("MicroLens_1M_x1/train_v2.parquet", b"junk"),
        "covers-missing": Corruption("item_images", raw=_remove),
        "covers-a-file": Corruption("item_images", raw=_write_bytes(b"x")),
        "synth-truth-missing": Corruption("synth_truth", raw=_remove),
        "item-seq-missing": Corruption("item_seq.parquet", raw=_remove),
    }
    cases = [Case(id=f"data-root/{label}", klass="data root", expect=ACCEPT, stop=FULL, config=base_config(),
                  data=c) for label, c in accepted.items()]
    cases += side_file_cases()
    cases.append(Case(id="data-root/split-folder-a-file", klass="data root", expect=REJECT,
                      names=("MicroLens_1M_x1",), config=base_config(),
                      data=Corruption("MicroLens_1M_x1", raw=_write_bytes(b"x"))))
    return cases


def _oracle_edit(edit):
    """oracle.json of the tiny data, changed by ``edit(facts)`` (as another seed's or an older one's would be)."""
    def write(path: Path, original: Path) -> None:
        facts = json.loads(original.read_text())
        edit(facts)
        path.write_text(json.dumps(facts))
    return write


def _row_oracle(expected_empty: bool):
    def check(ws, out: str) -> list[str]:
        import csv

        rows = [r for f in sorted(ws.lb.glob("*.csv")) for r in csv.DictReader(f.open(encoding="utf-8"))]
        got = rows[-1].get("oracle_auc", "") if rows else None
        if expected_empty and got != "":
            return [f"the row records oracle_auc {got!r} from an oracle.json of other data"]
        if not expected_empty and not got:
            return ["the row lost the oracle AUC of its own oracle.json"]
        return []
    return check


def side_file_cases() -> list[Case]:
    """Side files that describe the data (oracle.json) taken from other data: left out with a note, never
    recorded in the row; another tool's file never stops the run."""
    from mmbench.data import schema as s

    def other_seed(f):
        f[s.ORACLE_BINDING] = "0" * 16
        f["seed"], f["valid_auc"] = 1, 0.99

    def older_other_scale(f):
        del f[s.ORACLE_BINDING]
        f["rows"]["valid"] += 7

    def older_same_shape(f):
        del f[s.ORACLE_BINDING]

    def flipped_labels(f):  # the same data, but the fingerprint of other labels
        f[s.ORACLE_BINDING] = s.labels_fingerprint([1])

    edits = {"oracle-of-another-seed": (other_seed, True), "oracle-older-of-another-scale": (older_other_scale, True),
             "oracle-of-other-labels": (flipped_labels, True), "oracle-older-same-shape": (older_same_shape, False),
             "oracle-own": (lambda f: None, False)}
    return [Case(id=f"side-file/{label}", klass="side file", expect=ACCEPT, stop=FULL, config=base_config(),
                 data=Corruption(s.ORACLE_FILE, raw=_oracle_edit(edit)), check=_row_oracle(empty))
            for label, (edit, empty) in edits.items()]


# ------------------------------------------------------------------------------------------ paths


# --------------------------------------------------------------------------- tune search files


def _tune_case(label: str, expect: str, names: tuple, space: dict, **tune) -> Case:
    raw = {**base_config(), "tune": {"trials": 2, "space": space, **tune}}

    def argv(ws):
        return ["tune", ws.write_config(raw, "search.yaml"), "--dry-run", "--leaderboard-dir", ws.lb]
    return Case(id=f"tune/{label}", klass="tune", expect=expect, names=names, argv=argv)


def tune_cases(registry) -> list[Case]:
    """Search files whose space a run would refuse somewhere, checked by ``tune --dry-run`` (the same
    check a real search makes before its first trial): for every numeric field of TrainParams and of
    the base config's components, a list and a range that reach a value outside its declared bounds;
    then every way a range itself can be wrong (step, log, type, low/high), on an int and a float key."""
    cases = []
    base = base_config()
    fields = [("train", TrainParams)] + [(kind, registry.get(kind, base[kind]["name"]).params_cls)
                                         for kind in ("encoder", "reducer", "model")]
    for section, cls in fields:
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            hint, _ = _optional(hints[f.name])
            key = f"{section}.{f.name}"
            if hint not in (int, float) or key in ("train.seed", "train.monitor"):
                continue
            rejected, low, _ = _edges(bounds_of(cls, f), integral=hint is int)
            for value in rejected[:1]:
                fine = low[0] if low else f.default
                if not isinstance(fine, (int, float)) or isinstance(fine, bool):
                    continue
                cases.append(_tune_case(f"{key}-choice-{value}", REJECT, ("search.yaml", key), {key: [fine, value]}))
                if value < fine:
                    cases.append(_tune_case(f"{key}-range-from-{value}", REJECT, ("search.yaml", key),
                                            {key: {"low": value, "high": fine}}))
                else:
                    cases.append(_tune_case(f"{key}-range-to-{value}", REJECT, ("search.yaml", key),
                                            {key: {"low": fine, "high": value}}))
    for key in ("train.seed", "train.monitor"):
        cases.append(_tune_case(f"{key}-searched", REJECT, ("search.yaml", key), {key: [1, 2]}))
    ranges = {
        "step-zero": {"step": 0}, "step-negative": {"step": -1}, "step-nan": {"step": math.nan},
        "step-string": {"step": "1"}, "step-larger-than-range": {"step": 1000},
        "log-and-step": {"log": True, "step": 1}, "log-not-bool": {"log": "yes"}, "type-str": {"type": "str"},
        "unknown-range-key": {"stepp": 1}, "low-above-high": {"low": 64, "high": 8},
        "low-equals-high": {"low": 8, "high": 8}, "low-string": {"low": "8"}, "high-inf": {"high": math.inf},
        "low-nan": {"low": math.nan}, "high-missing": {"high": None},
    }
    for key, low, high in (("model.embedding_dim", 4, 16), ("train.lr", 1.0e-4, 1.0e-2)):
        for label, change in ranges.items():
            cases.append(_tune_case(f"{key}-{label}", REJECT, ("search.yaml", key), {key: {"low": low, "high": high,
                                                                                              **change}}))
        for label, value in (("empty-list", []), ("scalar", 8), ("null", None), ("string", "8")):
            cases.append(_tune_case(f"{key}-{label}", REJECT, ("search.yaml", key), {key: value}))
    int_key, float_key = "model.embedding_dim", "train.lr"
    cases += [
        _tune_case("int-step-fraction", REJECT, ("search.yaml", int_key), {int_key: {"low": 4, "high": 16, "step": 0.5}}),
        _tune_case("int-step-not-dividing", REJECT, ("search.yaml", int_key), {int_key: {"low": 4, "high": 16, "step": 5}}),
        _tune_case("int-as-float-type", REJECT, ("search.yaml", int_key), {int_key: {"low": 4, "high": 16, "type": "float"}}),
        _tune_case("int-log-low-zero", REJECT, ("search.yaml", int_key), {int_key: {"low": 0, "high": 16, "log": True}}),
        _tune_case("float-log-low-negative", REJECT, ("search.yaml", float_key),
                   {float_key: {"low": -1.0, "high": 1.0, "log": True}}),
        _tune_case("float-step-not-dividing", REJECT, ("search.yaml", float_key),
                   {float_key: {"low": 0.001, "high": 0.01, "step": 0.004}}),
        _tune_case("choice-wrong-type", REJECT, ("search.yaml", int_key), {int_key: [4, "wide"]}),
        _tune_case("choice-bool-for-float", REJECT, ("search.yaml", float_key), {float_key: [0.01, True]}),
        _tune_case("no-space", REJECT, ("space",), {}),
        _tune_case("unknown-key", REJECT, ("search.yaml", "embeding_dim"), {"model.embeding_dim": [4, 8]}),
        _tune_case("good-int-step", ACCEPT, (), {int_key: {"low": 4, "high": 16, "step": 4}}),
        _tune_case("good-float-log", ACCEPT, (), {float_key: {"low": 1.0e-4, "high": 1.0e-2, "log": True}}),
        _tune_case("good-float-step", ACCEPT, (), {float_key: {"low": 0.001, "high": 0.01, "step": 0.001}}),
        _tune_case("good-int-key-float-bounds-whole", ACCEPT, (), {"model.net_dropout": {"low": 0, "high": 0.5}}),
        _tune_case("good-lists", ACCEPT, (), {int_key: [4, 8], "model.dnn_hidden": [[8], [8, 8]]}),
    ]
    return cases


#: a config whose vectors are 128-d, as Task 1 (export-embeddings) needs
EXPORTABLE = base_config(encoder={"name": "precomputed", "columns": ["item_emb_d128"]}, reducer={"name": "none"})


def path_cases() -> list[Case]:
    """Config, data root, leaderboard folder, MMBENCH_HOME and --out pointing at the wrong things."""
    def run(config_path=None, lb=None):
        def argv(ws):
            path = config_path(ws) if config_path else ws.write_config(base_config())
            return ["run", path, "--leaderboard-dir", lb(ws) if lb else ws.lb]
        return argv

    def data_root(value):
        return lambda ws: ws.write_config(base_config(dataset={"name": "microlens_1m", "data_root": value(ws)}))

    cases = [
        ("config-missing", REJECT, ("nope.yaml",), run(lambda ws: ws.tmp / "nope.yaml"), {}),
        ("config-a-folder", REJECT, ("folder.yaml",), run(lambda ws: ws.folder("folder.yaml")), {}),
        ("config-dev-null", REJECT, (), run(lambda ws: "/dev/null"), {}),
        ("config-name-too-long", REJECT, (), run(lambda ws: ws.tmp / ("c" * 300 + ".yaml")), {}),
        ("config-under-a-file", REJECT, (), run(lambda ws: ws.file("f") / "c.yaml"), {}),
        ("data-root-missing", REJECT, ("nowhere",), run(data_root(lambda ws: str(ws.tmp / "nowhere"))), {}),
        ("data-root-a-file", REJECT, ("a_file",), run(data_root(lambda ws: str(ws.file("a_file")))), {}),
        ("data-root-empty-folder", REJECT, ("MicroLens_1M_x1",), run(data_root(lambda ws: str(ws.folder("empty")))), {}),
        ("data-root-is-the-split-folder", REJECT, (), run(data_root(lambda ws: str(ws.tiny.root / "MicroLens_1M_x1"))), {}),
        ("data-root-empty-string", REJECT, ("data_root",), run(data_root(lambda ws: "")), {}),
        ("data-root-long", REJECT, (), run(data_root(lambda ws: "/x" * 3000)), {}),
        ("data-root-nul-byte", REJECT, (), run(data_root(lambda ws: "/tmp/a\x00b")), {}),
        ("leaderboard-a-file", REJECT, ("--leaderboard-dir",), run(lb=lambda ws: ws.file("lbfile")), {}),
        ("leaderboard-under-a-file", REJECT, ("--leaderboard-dir",), run(lb=lambda ws: ws.file("lbfile") / "lb"), {}),
        ("leaderboard-in-proc", REJECT, ("--leaderboard-dir",), run(lb=lambda ws: "/proc/mmbench-lb"), {}),
        ("home-a-file", REJECT, ("MMBENCH_HOME",), run(), {"MMBENCH_HOME": lambda ws: str(ws.file("home"))}),
        ("home-under-a-file", REJECT, ("MMBENCH_HOME",), run(), {"MMBENCH_HOME": lambda ws: str(ws.file("home") / "h")}),
        ("home-in-proc", REJECT, ("MMBENCH_HOME",), run(), {"MMBENCH_HOME": lambda ws: "/proc/mmbench-home"}),
        ("predict-out-a-file", REJECT, ("--out",), lambda ws: ["predict", "abc", "--out", ws.file("out")], {}),
        ("predict-out-under-a-file", REJECT, ("--out",), lambda ws: ["predict", "abc", "--out", ws.file("out") / "o"], {}),
        ("export-out-a-folder", ACCEPT, (),  # item_info.parquet is written inside it
         lambda ws: ["export-embeddings", ws.write_config(EXPORTABLE), "--out", ws.folder("out")], {}),
        ("export-out-an-existing-file", ACCEPT, (),  # replaced
         lambda ws: ["export-embeddings", ws.write_config(EXPORTABLE), "--out", ws.file("out.parquet")], {}),
        ("export-out-under-a-file", REJECT, ("--out",),
         lambda ws: ["export-embeddings", ws.write_config(EXPORTABLE), "--out", ws.file("out") / "x.parquet"], {}),
        ("synth-out-a-file", REJECT, (), lambda ws: ["data", "synth", "--out", ws.file("out"), "--scale", "tiny"], {}),
    ]
    return [Case(id=f"path/{label}", klass="paths", expect=expect, names=names, argv=argv, env=env)
            for label, expect, names, argv, env in cases]


#: names that rich would read as markup (a closing tag, a style, an unclosed tag, an emoji code, a link)
MARKUP_NAMES = {"close-tag": "m[/x]", "style": "m[red]r[/red]", "unclosed": "m[bold", "emoji": "m:smile:",
                "link": "m[link=javascript:alert(1)]k"}


def markup_cases() -> list[Case]:
    """Every place a user's name reaches the output (leaderboard folder, MMBENCH_HOME, config file, data
    root, predict --out, a cache listing, a plugin pattern) with each of :data:`MARKUP_NAMES`: a run
    trains to its row and the output shows the name as it is."""
    cases = []

    def run_with(lb=None, config_name="c.yaml", data_link=None):
        def argv(ws):
            if data_link is not None:
                (ws.tmp / data_link).parent.mkdir(parents=True, exist_ok=True)
                (ws.tmp / data_link).symlink_to(ws.data)
                ws.data = ws.tmp / data_link
            if lb is not None:
                ws.lb = ws.tmp / lb
            return ["run", ws.write_config(base_config(), config_name), "--leaderboard-dir", ws.lb]
        return argv

    for label, name in MARKUP_NAMES.items():
        places = [
            ("leaderboard-dir", run_with(lb=name), {}, (f"{name}/",)),
            ("home", run_with(), {"MMBENCH_HOME": lambda ws, n=name: str(ws.tmp / n)}, (f"{name}/runs",)),
            ("data-root", run_with(data_link=name), {}, ()),
            ("config-file", run_with(config_name=f"{name}.yaml"), {}, ()),
        ]
        for place, argv, env, shows in places:
            cases.append(Case(id=f"markup/{place}={label}", klass="markup", expect=ACCEPT, stop=FULL, argv=argv,
                              env=env, shows=shows))
        cases.append(Case(id=f"markup/cache-list-home={label}", klass="markup", expect=ACCEPT,
                          argv=lambda ws: ["cache", "list"], env={"MMBENCH_HOME": lambda ws, n=name: str(ws.tmp / n)},
                          shows=(f"{name}/cache",)))
        cases.append(Case(id=f"markup/plugins-pattern={label}", klass="markup", expect=REJECT, names=(name,),
                          argv=lambda ws, n=name: ["plugins", n]))
        cases.append(Case(id=f"markup/predict-out={label}", klass="markup", expect=REJECT, names=("no_such_run",),
                          argv=lambda ws, n=name: ["predict", "no_such_run", "--out", ws.tmp / n]))
        cases.append(Case(id=f"markup/leaderboard-dir-empty={label}", klass="markup", expect=REJECT, names=(name,),
                          argv=lambda ws, n=name: ["leaderboard", "--leaderboard-dir", ws.tmp / n, "--dataset", "x"]))
    return cases


def _leaderboard_csv(encoding: str, delimiter: str, preamble: str, header=lambda h: h) -> bytes:
    """A leaderboard CSV with one earlier row, saved as ``encoding`` / ``delimiter`` with comment lines."""
    import csv
    import io

    from mmbench.run.row import COLUMNS

    row = {"dataset": "microlens_1m", "encoder": "random", "reducer": "pca", "model": "din", "seed": "1",
           "valid_auc": "0,61" if delimiter == ";" else "0.61", "status": "ok", "config_hash": "0123456789ab"}
    buf = io.StringIO()
    buf.write(preamble)
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows([header(list(COLUMNS)),
                                                                          [row.get(c, "") for c in COLUMNS]])
    return buf.getvalue().encode(encoding)


def leaderboard_csv_cases() -> list[Case]:
    """The dataset's leaderboard CSV as editors and spreadsheets save it (encodings x separators x
    comment lines: the run goes on) and with its header damaged (refused before training, naming it)."""
    def with_csv(data: bytes):
        def argv(ws):
            ws.lb.mkdir(parents=True, exist_ok=True)
            (ws.lb / "microlens_1m.csv").write_bytes(data)
            return ["run", ws.write_config(base_config()), "--leaderboard-dir", ws.lb]
        return argv

    cases = []
    preambles = {"": "", "comment": "# the team's runs\n", "comments-and-blank": "\n# exported 2026\n#\n\n"}
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"):
        for dlabel, delimiter in (("comma", ","), ("semicolon", ";"), ("tab", "\t")):
            for plabel, preamble in preambles.items():
                data = _leaderboard_csv(encoding, delimiter, preamble)
                cases.append(Case(id=f"leaderboard-csv/{encoding}-{dlabel}" + (f"-{plabel}" if plabel else ""),
                                  klass="leaderboard csv", expect=ACCEPT, argv=with_csv(data)))
    bad = {f"column-twice-{c}": lambda h, c=c: h + [c] for c in ("valid_auc", "config_hash", "dataset", "status")}
    bad.update({"header-lost": lambda h: [], "header-upper-case": lambda h: [c.upper() for c in h],
                "header-another-tool": lambda h: ["run", "score", "when"]})
    for label, edit in bad.items():
        for encoding, delimiter in (("utf-8", ","), ("utf-16", ";")):
            data = _leaderboard_csv(encoding, delimiter, "", edit)
            if label == "header-lost":
                data = data.decode(encoding).split("\n", 1)[1].encode(encoding)
            cases.append(Case(id=f"leaderboard-csv/{label}-{encoding}", klass="leaderboard csv", expect=REJECT,
                              names=("microlens_1m.csv",), argv=with_csv(data)))
    return cases


def command_options():
    """(command words, argparse action, the words that fill its required arguments) for every option
    of every ``mmbench`` command, read from the parser itself."""
    import argparse

    from mmbench.cli import build_parser

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, words + [name])
        required = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.option_strings:
                required.append("x")
            elif action.required:
                required += [action.option_strings[-1], "x"]
        for action in parser._actions:
            if action.option_strings:
                yield words, action, required
    yield from walk(build_parser(), [])


def unbounded_numeric_options() -> list[str]:
    """Numeric options that take any number (``type=int``): each must have its range (commands.number)."""
    return [f"mmbench {' '.join(words)} {a.option_strings[-1]}" for words, a, _ in command_options()
            if a.type in (int, float) and not a.choices]


def option_range_cases() -> list[Case]:
    """Every numeric option of every command with values outside its range, not numbers, non-finite:
    the parser refuses each in one line naming the option, before anything runs."""
    cases = []
    for words, action, required in command_options():
        low = getattr(action.type, "low", None)
        if low is None and getattr(action.type, "high", None) is None:
            continue
        option = action.option_strings[-1]
        values = {"word": "x", "nan": "nan", "inf": "inf", "empty": ""}
        if action.type.kind is int:
            values["fraction"] = "1.5"
        if low is not None:
            values["below"] = str(low if action.type.above else (low - 1 if action.type.kind is int else low - 0.5))
            values["far-below"] = "-5"
        if action.type.high is not None:
            values["above"] = str(action.type.high + 1)
        for label, value in values.items():
            if label == "far-below" and low is not None and low <= -5:
                continue
            cases.append(Case(id=f"option/{' '.join(words)} {option}={label}", klass="option range", expect=REJECT,
                              names=(option, " ".join(words)),
                              argv=lambda ws, w=words, o=option, v=value, r=required: [*w, f"{o}={v}", *r]))
    return cases


#: names and values that are markup, a script URL or a path in some output format
HOSTILE = {"js-url": "javascript:window.__x=1,{}", "html-tag": "<img src=x onerror=alert(1)>",
           "attr-break": "\" onmouseover=\"alert(1)", "md-link": "[x](javascript:alert(1))", "md-code": "`x`|<b>y</b>",
           "entity": "&lt;script&gt;", "newline-pipe": "a\n| b | c |"}
#: what the hostile values are when they reach a page as markup, not text
HOSTILE_RAW = ("<img src=x", "\" onmouseover=\"alert", "<b>y</b>")
TRAVERSALS = {"parent": "../../escaped", "absolute": "/tmp/escaped", "dot-dot": "..", "nul": "a\x00b"}


def _board_with(ws, dataset: str, **values) -> None:
    from mmbench.leaderboard import store
    from mmbench.run.row import Row

    row = {"dataset": dataset, "encoder": "random", "reducer": "pca", "model": "din", "seed": 1, "valid_auc": 0.61,
           "status": "ok", "config_hash": "0123456789ab", "config": json.dumps({"model": {"note": values.get("config", "")}})}
    store.append_row(ws.lb, Row(**{**row, **{k: v for k, v in values.items() if k != "config"}}))


def _html_problems(ws, out: str) -> list[str]:
    import re

    problems = []
    for page in sorted((ws.tmp / "site").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        hrefs = re.findall(r'href="([^"]*)"', text)
        bad = [h for h in hrefs if not h.startswith(("./", "http://", "https://", "#"))]
        if bad:
            problems.append(f"{page.name}: links that are not relative paths or http(s): {bad[:3]}")
        for raw in HOSTILE_RAW:
            if raw in text:
                problems.append(f"{page.name}: {raw!r} as html")
    if not problems and not (ws.tmp / "site" / "index.html").is_file():
        problems.append("no index.html written")
    return problems


def _md_problems(ws, out: str) -> list[str]:
    import re

    text = re.sub(r"(`+) .*? \1|(`+)[^`]*?\2", "", out)  # code spans show their text as it is
    problems = [f"{raw!r} as markdown/html" for raw in HOSTILE_RAW if raw in text and raw.startswith("<")]
    if re.search(r"(?<!\\)\]\(\s*javascript:", text):
        problems.append("a javascript: link")
    widths = {len(re.findall(r"(?<!\\)\|", line)) for line in out.splitlines() if line.startswith("| ")}
    if len(widths) > 3:
        problems.append(f"a value changed the number of table cells: {sorted(widths)}")
    return problems


def output_escaping_cases() -> list[Case]:
    """Hostile names and values in the html site and the markdown board (escaped for their context, links
    only to relative paths), and names that would become paths outside their folder (refused)."""
    cases = []
    for label, value in HOSTILE.items():
        if "/" not in value and "\n" not in value:  # a file name: the dataset's CSV, its page, the index link
            cases.append(Case(id=f"escaping/html-csv-file-name={label}", klass="output escaping", expect=ACCEPT,
                              argv=lambda ws, v=value: (_board_with(ws, v), ["leaderboard", "--format", "html", "--out",
                                                        ws.tmp / "site", "--leaderboard-dir", ws.lb])[1],
                              check=_html_problems))
        for column in ("encoder", "model", "config"):
            cases.append(Case(id=f"escaping/html-{column}={label}", klass="output escaping", expect=ACCEPT,
                              argv=lambda ws, v=value, c=column: (_board_with(ws, "d", **{c: v}), [
                                  "leaderboard", "--format", "html", "--out", ws.tmp / "site", "--leaderboard-dir",
                                  ws.lb])[1], check=_html_problems))
            cases.append(Case(id=f"escaping/md-{column}={label}", klass="output escaping", expect=ACCEPT,
                              argv=lambda ws, v=value, c=column: (_board_with(ws, "d", **{c: v}), [
                                  "leaderboard", "--format", "md", "--leaderboard-dir", ws.lb])[1],
                              check=_md_problems))
    for label, name in TRAVERSALS.items():
        cases.append(Case(id=f"escaping/leaderboard-dataset={label}", klass="output escaping", expect=REJECT,
                          names=("dataset id",), argv=lambda ws, n=name: ["leaderboard", "--leaderboard-dir", ws.lb,
                                                                          "--dataset", n]))
        cases.append(Case(id=f"escaping/tune-study={label}", klass="output escaping", expect=REJECT,
                          names=("tune.study",),
                          argv=lambda ws, n=name: ["tune", REPO / "configs/tune/din_tiny.yaml", "--study", n,
                                                   "--dry-run"]))
    return cases


# ------------------------------------------------------------------- waits, shared folders, leftovers


def _fifo(path: Path, unblock_after: float = 30.0) -> Path:
    """A FIFO at ``path``. A safety net, should a reader block on it after all: a writer comes and goes
    after ``unblock_after`` seconds (the case then fails on time, instead of hanging the suite)."""
    import threading

    os.mkfifo(path)

    def unblock():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody reading: nothing to unblock
            pass

    timer = threading.Timer(unblock_after, unblock)
    timer.daemon = True
    timer.start()
    return path


def _socket(path: Path) -> Path:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))  # left bound until the process ends: a socket file nobody answers
    _SOCKETS.append(sock)
    return path


_SOCKETS: list = []

#: the file kinds a config path can be that are not files, each made at a path of the workspace
NOT_FILES = {
    "fifo": lambda ws, name: _fifo(ws.tmp / name),
    "socket": lambda ws, name: _socket(ws.tmp / name),
    "dev-zero": lambda ws, name: Path("/dev/zero"),  # endless: read_text would fill the memory
    "dev-null": lambda ws, name: Path("/dev/null"),
    "symlink-to-fifo": lambda ws, name: _link(ws.tmp / name, _fifo(ws.tmp / f"real-{name}")),
}


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


#: each command that reads a config file, and what it calls the file
CONFIG_COMMANDS = {"run": "config file", "sweep": "sweep file", "tune": "search file", "task1": "config file",
                   "export-embeddings": "config file"}


def wait_cases() -> list[Case]:
    """Inputs that made a command wait for ever without a word: config paths that are not files (for
    every command that reads one), and a bad MMBENCH_LOCK_TIMEOUT (said before training)."""
    cases = []
    for kind, make in NOT_FILES.items():
        for command, what in CONFIG_COMMANDS.items():
            def argv(ws, make=make, command=command):
                out = ["--out", ws.tmp / "out.parquet"] if command == "export-embeddings" else []
                return [command, make(ws, "c.yaml"), *out]
            names = (what, "not a regular file") if kind != "dev-null" else (what,)
            cases.append(Case(id=f"wait/{command}-config-{kind}", klass="waits", expect=REJECT, names=names,
                              argv=argv))
    for label, value in (("word", "soon"), ("negative", "-1"), ("inf", "inf"), ("nan", "nan"), ("empty-ish", " x ")):
        cases.append(Case(id=f"wait/lock-timeout-{label}", klass="waits", expect=REJECT, names=("MMBENCH_LOCK_TIMEOUT",),
                          argv=lambda ws: ["run", ws.write_config(base_config()), "--leaderboard-dir", ws.lb],
                          env={"MMBENCH_LOCK_TIMEOUT": lambda ws, v=value: v}))
    for label, value in (("zero", "0"), ("fraction", "0.5"), ("large", "86400")):
        cases.append(Case(id=f"wait/lock-timeout-{label}", klass="waits", expect=ACCEPT, stop=FULL,
                          argv=lambda ws: ["run", ws.write_config(base_config()), "--leaderboard-dir", ws.lb],
                          env={"MMBENCH_LOCK_TIMEOUT": lambda ws, v=value: v}))
    return cases


DATASET_CSV = "microlens_1m.csv"
LOCK = f"{DATASET_CSV}.lock"


def shared_folder_cases() -> list[Case]:
    """Leaderboard folders as teams set them up: the CSV or its lock a symlink (to a shared file, a
    chain, nothing yet, a folder, a FIFO), the folder itself a link. Accepted layouts record the row
    in the file the link points at; refused ones are refused before training, naming the path."""
    def team(ws) -> Path:
        return ws.folder("team")

    def accepted(label, plant, links=(DATASET_CSV,)):
        def argv(ws):
            ws.lb.mkdir(exist_ok=True)
            plant(ws)
            return ["run", ws.write_config(base_config()), "--leaderboard-dir", ws.lb]
        return Case(id=f"shared/{label}", klass="shared folder", expect=ACCEPT, stop=FULL, argv=argv,
                    after=lambda ws: _links_kept(ws, links))

    def refused(label, plant, names):
        def argv(ws):  # a folder other than ws.lb: the planted link is no leaderboard file of the run
            folder = ws.folder("planted")
            plant(ws, folder)
            return ["run", ws.write_config(base_config()), "--leaderboard-dir", folder]
        return Case(id=f"shared/{label}", klass="shared folder", expect=REJECT, names=names, argv=argv)

    csv_link = lambda ws, target: _link(ws.lb / DATASET_CSV, target)  # noqa: E731
    lock_link = lambda ws, target: _link(ws.lb / f"{DATASET_CSV}.lock", target)  # noqa: E731
    cases = [
        accepted("csv-symlink-to-an-empty-team-file", lambda ws: csv_link(ws, _touch(team(ws) / "board.csv"))),
        accepted("csv-symlink-to-a-missing-team-file", lambda ws: csv_link(ws, team(ws) / "board.csv")),
        accepted("csv-symlink-chain", lambda ws: csv_link(ws, _link(team(ws) / "link.csv",
                                                                    _touch(team(ws) / "board.csv")))),
        accepted("csv-relative-symlink", lambda ws: csv_link(ws, Path("..") / "team" / _touch(team(ws) / "b.csv").name)),
        accepted("lock-symlink-to-a-team-file", lambda ws: lock_link(ws, _touch(team(ws) / "board.lock")), (LOCK,)),
        accepted("lock-dangling-symlink", lambda ws: lock_link(ws, team(ws) / "board.lock"), (LOCK,)),
        accepted("lock-left-by-a-killed-run", lambda ws: _touch(ws.lb / LOCK), ()),
        accepted("md-symlink-to-a-team-file", lambda ws: _link(ws.lb / "microlens_1m.md", _touch(team(ws) / "b.md")),
                 ("microlens_1m.md",)),
        Case(id="shared/leaderboard-dir-a-symlink", klass="shared folder", expect=ACCEPT, stop=FULL,
             argv=lambda ws: ["run", ws.write_config(base_config()), "--leaderboard-dir",
                              _link(ws.lb, team(ws))]),
        refused("csv-symlink-to-a-folder", lambda ws, f: _link(f / DATASET_CSV, team(ws)), (DATASET_CSV,)),
        refused("csv-symlink-to-a-fifo", lambda ws, f: _link(f / DATASET_CSV, _fifo(ws.tmp / "pipe")), (DATASET_CSV,)),
        refused("csv-a-fifo", lambda ws, f: _fifo(f / DATASET_CSV), (DATASET_CSV,)),
        refused("lock-a-fifo", lambda ws, f: _fifo(f / f"{DATASET_CSV}.lock"), (f"{DATASET_CSV}.lock",)),
        refused("lock-a-socket", lambda ws, f: _socket(f / f"{DATASET_CSV}.lock"), (f"{DATASET_CSV}.lock",)),
        refused("lock-symlink-to-a-folder", lambda ws, f: _link(f / f"{DATASET_CSV}.lock", team(ws)),
                (f"{DATASET_CSV}.lock",)),
    ]
    return cases


def _links_kept(ws, links: tuple[str, ...]) -> list[str]:
    """The planted symlinks are still links (not replaced by files of their own), and the file the
    CSV links to holds the row."""
    problems = [f"{name} was a symlink and was replaced by a file of its own" for name in links
                if not (ws.lb / name).is_symlink()]
    csv_file = ws.lb / DATASET_CSV
    if csv_file.is_symlink() and len(csv_file.resolve().read_text(encoding="utf-8").splitlines()) != 2:
        problems.append(f"the file {DATASET_CSV} links to does not hold the header and the row")
    return problems


def _touch(path: Path) -> Path:
    path.touch()
    return path


def leftover_cases() -> list[Case]:
    """What a run killed while writing left in the leaderboard folder (temp files of mmbench's atomic
    writers, by a process of this host that no longer runs): the next run removes each before training."""
    import subprocess

    from mmbench.files.atomic import writer_tag

    child = subprocess.Popen(["true"])
    child.wait()
    dead = f"{writer_tag().rsplit('-', 1)[0]}-{child.pid}"  # this host, a process that ran and ended
    places = {
        "csv": lambda lb: lb / f".{DATASET_CSV}.{dead}.k1ll3d_1.tmp",
        "md": lambda lb: lb / f".microlens_1m.md.{dead}.k1ll3d_2.tmp",
        "png": lambda lb: lb / f".microlens_1m.png.{dead}.k1ll3d_3.tmp",
        "preds": lambda lb: lb / "microlens_1m" / "preds" / f".0123456789ab.npy.{dead}.k1ll3d_4.tmp",
        "labels": lambda lb: lb / "microlens_1m" / "preds" / f".valid_labels.npy.{dead}.k1ll3d_5.tmp",
        "other-board": lambda lb: lb / f".other_dataset.csv.{dead}.k1ll3d_6.tmp",
    }
    cases = []
    for label, where in places.items():
        for form in ("file", "folder"):
            def argv(ws, where=where, form=form):
                leftover = where(ws.lb)
                leftover.parent.mkdir(parents=True, exist_ok=True)
                leftover.mkdir() if form == "folder" else leftover.write_bytes(b"half a file")
                return ["run", ws.write_config(base_config()), "--leaderboard-dir", ws.lb]
            cases.append(Case(id=f"leftover/{label}-{form}", klass="leftovers", expect=ACCEPT, argv=argv))
    return cases


def all_cases(registry) -> list[Case]:
    cases = (config_value_cases(registry) + config_structure_cases(registry) + config_text_cases()
             + override_cases() + duplicate_key_cases() + data_cases() + path_cases() + markup_cases()
             + leaderboard_csv_cases() + option_range_cases() + output_escaping_cases() + wait_cases()
             + shared_folder_cases() + leftover_cases() + tune_cases(registry))
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    for case in cases:  # the same label twice (e.g. two equal edge values) gets a suffix, not a clash
        if case.id in duplicates:
            n = sum(1 for c in cases if c.id.startswith(case.id + "#"))
            case.id = f"{case.id}#{n}"
    return cases


def report(entry: dict) -> None:
    """With FUZZ_REPORT=FILE, one JSON line per case: what it produced (docs/hardening.md's tables)."""
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
