import json
import subprocess
import sys

import pytest

import mmbench
from mmbench.contract.components import Encoder, Model
from mmbench.errors import PluginError
from mmbench.contract.registry import build_registry, new_plugin_manager


def test_entry_point_discovery_finds_builtins():
    """The built-ins are found the way a third-party plugin is: through the `mmbench` entry points."""
    registry = build_registry()
    assert {"text"} <= set(registry.names("encoder"))
    assert {"none", "pca"} <= set(registry.names("reducer"))
    assert "attention_dnn" in registry.names("model")
    text = registry.get("encoder", "text")
    assert text.distribution == "mmbench" and text.version == mmbench.__version__


def test_fake_plugins_registered_in_process(fake_registry):
    assert fake_registry.names("dataset") == ["fake"]
    assert set(fake_registry.names("encoder")) == {"shipped_fake", "random_fake"}
    assert fake_registry.get("model", "attention_dnn").plugin == "attention_dnn"


def test_unknown_name_suggests(fake_registry):
    with pytest.raises(PluginError, match=r"unknown model 'atention_dnn' \(did you mean 'attention_dnn'\?\); installed models: attention_dnn"):
        fake_registry.get("model", "atention_dnn")


def test_duplicate_name_names_both_plugins():
    class Same(Encoder):
        def encode(self, items, ctx):
            return None

    class A:
        @mmbench.hookimpl
        def register_encoders(self, register):
            register("same", Same)

    class B:
        @mmbench.hookimpl
        def register_encoders(self, register):
            register("same", Same)

    pm = new_plugin_manager()
    pm.register(A(), name="plugin_a")
    pm.register(B(), name="plugin_b")
    with pytest.raises(PluginError, match=r"encoder 'same' is registered twice: by .*plugin_a.* and by .*plugin_b"):
        build_registry(pm, entry_points=False)


def test_plugin_raising_while_registering_is_skipped():
    class Broken:
        @mmbench.hookimpl
        def register_models(self, register):
            raise RuntimeError("boom")

    class Fine:
        @mmbench.hookimpl
        def register_models(self, register):
            register("fine", Model)

    pm = new_plugin_manager()
    pm.register(Broken(), name="broken")
    pm.register(Fine(), name="fine_plugin")
    registry = build_registry(pm, entry_points=False)
    assert registry.names("model") == ["fine"]
    assert [(f.plugin, f.error) for f in registry.failures] == [("broken", "RuntimeError: boom")]


def test_plugins_json_cli():
    out = subprocess.run([sys.executable, "-m", "mmbench.cli", "plugins", "--json"], capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)
    keyed = {(r["kind"], r["name"]): r for r in rows}
    for key in [("encoder", "text"), ("reducer", "none"), ("reducer", "pca"), ("model", "attention_dnn"),
                ("dataset", "microlens_1m"), ("dataset", "microlens_1m_synth")]:
        assert key in keyed, key
        assert keyed[key]["distribution"] == "mmbench"
        assert {"kind", "name", "distribution", "version"} <= set(keyed[key])


def test_a_component_of_the_old_api_is_skipped_with_a_clear_line():
    class OldEncoder:  # API 1: no base class
        Params = None

        def __init__(self, params):
            pass

    class Old:
        MMBENCH_API_VERSION = 1

        @mmbench.hookimpl
        def register_encoders(self, register):
            register("old", OldEncoder)

    pm = new_plugin_manager()
    pm.register(Old(), name="old_plugin")
    registry = build_registry(pm, entry_points=False)
    assert registry.names("encoder") == []
    (failure,) = registry.failures
    assert "is not a subclass of mmbench.contract.components.Encoder" in failure.error
    assert "declares MMBENCH_API_VERSION = 1, this mmbench speaks plugin API 2" in failure.error


def test_list_filters_by_kind_and_pattern(fake_registry):
    assert [c.name for c in fake_registry.list("encoder")] == ["random_fake", "shipped_fake"]
    assert [c.name for c in fake_registry.list(pattern="*fake")] == ["random_fake", "shipped_fake", "fake"]
    assert [f"{c.kind}:{c.name}" for c in fake_registry.list(pattern="reducer:p*")] == ["reducer:pca"]
    assert [c.name for c in fake_registry.list(pattern="codes")] == ["topic_codes", "vectors_and_codes"]


def test_plugins_cli_filters_by_pattern():
    out = subprocess.run([sys.executable, "-m", "mmbench.cli", "plugins", "d?n", "--json"],
                         capture_output=True, text=True, check=True)
    assert sorted(r["name"] for r in json.loads(out.stdout)) == ["dcn", "din"]
    missing = subprocess.run([sys.executable, "-m", "mmbench.cli", "plugins", "nothing-like-this"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no component matches 'nothing-like-this'" in missing.stderr


def test_a_name_in_the_wrong_case_gets_a_suggestion():
    """`--set model.name=DIN`: the names are compared case-insensitively for the did-you-mean."""
    from mmbench.contract.params import did_you_mean
    from mmbench.contract.registry import default_registry

    with pytest.raises(PluginError, match=r"unknown model 'DIN' \(did you mean 'din'\?\)"):
        default_registry().get("model", "DIN")
    assert did_you_mean("Attention_DNN", ["attention_dnn", "din"]) == " (did you mean 'attention_dnn'?)"
    assert did_you_mean("TRAIN.LR", ["train.lr", "train.epochs"]) == " (did you mean 'train.lr'?)"
    assert did_you_mean("xyz", ["din", "dcn"]) == ""
