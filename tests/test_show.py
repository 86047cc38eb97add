"""``mmbench show COMPONENT`` and ``mmbench plugins PATTERN``: a component's parameters with their types,
defaults and allowed values, where it comes from, and a model's train defaults."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

import mmbench
from mmbench import cli
from mmbench.report.component_info import find, render
from mmbench.contract.components import Encoder, FixedReducer
from mmbench.errors import PluginError
from mmbench.contract.registry import build_registry, new_plugin_manager, reset_default_registry


def run(capsys, *args):
    reset_default_registry()
    capsys.readouterr()
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def row(out: str, key: str) -> list[str]:
    """The cells of the parameter row of ``key`` (columns are separated by two spaces or more)."""
    lines = [line.split() for line in out.splitlines() if line.split()[:1] == [key]]
    assert lines, f"no row for {key!r} in:\n{out}"
    return lines[0]


def test_show_a_model_lists_params_bounds_choices_and_train_defaults(capsys):
    rc, out, err = run(capsys, "show", "din")
    assert rc == 0, err
    assert out.startswith("model din: from mmbench ")
    assert row(out, "embedding_dim") == ["embedding_dim", "int", "64", "between", "1", "and", "65536"]
    assert row(out, "net_dropout") == ["net_dropout", "float", "0.1", ">=", "0", "and", "<", "1"]  # the dropout convention
    assert " ".join(row(out, "attention_activation")) == "attention_activation choice dice one of 'dice', 'relu', 'prelu', 'sigmoid'"
    assert " ".join(row(out, "dnn_hidden")) == "dnn_hidden list of int [1024, 512, 256] each between 1 and 65536"
    train = out[out.index("train defaults of din"):]
    assert "config.yaml" in train.splitlines()[0]
    assert row(train, "batch_size")[:3] == ["batch_size", "int", "8192"]  # din's config.yaml, not mmbench's 1024
    assert row(train, "seed")[:3] == ["seed", "int", "20242025"]
    assert "eval_batch_size" not in train  # only the keys the model's config.yaml sets


def test_show_a_reducer_by_name_or_kind_and_name(capsys):
    rc, out, _ = run(capsys, "show", "pca")
    assert rc == 0 and out.startswith("reducer pca: from mmbench ")
    assert row(out, "dim") == ["dim", "int", "128", ">=", "1"]
    assert "train defaults" not in out
    assert run(capsys, "show", "reducer/pca")[1] == out
    assert run(capsys, "show", "reducer:pca")[1] == out


def test_show_train_lists_every_train_key(capsys):
    rc, out, _ = run(capsys, "show", "train")
    assert rc == 0
    assert row(out, "batch_size")[:3] == ["batch_size", "int", "1024"]
    assert " ".join(row(out, "device")) == "device str auto auto, cpu, mps, cuda or cuda:N"


@pytest.mark.parametrize("query, line", [
    ("DIN", "error: no component named 'DIN' (did you mean 'din'?); `mmbench plugins` lists them all"),
    ("Reducer/PCA", "error: unknown kind 'Reducer' in 'Reducer/PCA'; kinds: encoder, reducer, model, dataset, tracker "
                    "(e.g. reducer/pca)"),
    ("reducer/PCA", "error: no reducer named 'reducer/PCA' (did you mean 'reducer/pca'?); `mmbench plugins` lists "
                    "them all"),
    ("model/pca", "error: no model named 'model/pca' (did you mean 'reducer/pca'?); `mmbench plugins` lists them all"),
    ("zzzz", "error: no component named 'zzzz'; `mmbench plugins` lists them all"),
])
def test_an_unknown_name_is_one_line_with_a_case_insensitive_suggestion(capsys, query, line):
    rc, out, err = run(capsys, "show", query)
    assert (rc, out, err.strip()) == (2, "", line)


@dataclass
class TwinParams:
    width: int = 8


class TwinEncoder(Encoder):
    Params = TwinParams

    def encode(self, items, ctx):
        raise NotImplementedError


class TwinReducer(FixedReducer):
    def apply(self, vecs):
        return vecs


class TwinPlugin:
    @mmbench.hookimpl
    def register_encoders(self, register):
        register("twin", TwinEncoder, description="an encoder named like a reducer")

    @mmbench.hookimpl
    def register_reducers(self, register):
        register("twin", TwinReducer)


def test_a_name_two_kinds_register_asks_which():
    pm = new_plugin_manager()
    pm.register(TwinPlugin(), name="twins")
    registry = build_registry(pm, entry_points=False)
    with pytest.raises(PluginError, match="'twin' names 2 components; say which: mmbench show encoder/twin, "
                                          "mmbench show reducer/twin"):
        find(registry, "twin")
    encoder = render(find(registry, "encoder/twin"))
    assert encoder[0].startswith("encoder twin: from ") and encoder[1] == "  an encoder named like a reducer"
    assert [line.split() for line in encoder[-2:]] == [["key", "type", "default", "allowed"], ["width", "int", "8", "-"]]
    assert render(find(registry, "reducer/twin"))[-1] == "parameters: none (the reducer section takes only its name)"


def test_plugins_pattern_shows_the_parameters_of_what_it_matches(capsys):
    rc, out, _ = run(capsys, "plugins", "din")
    assert rc == 0
    assert "model din: from mmbench " in out and row(out, "embedding_dim")[:3] == ["embedding_dim", "int", "64"]
    assert "train defaults of din" in out
    rc, everything, _ = run(capsys, "plugins")
    assert rc == 0 and "din" in everything and "embedding_dim" not in everything  # the full list stays a list
