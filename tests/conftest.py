import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakePlugin  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own $MMBENCH_HOME unless it sets one; the shared synth cache is reused."""
    if "MMBENCH_HOME" not in os.environ or not os.environ["MMBENCH_HOME"].startswith(str(tmp_path_factory.getbasetemp())):
        monkeypatch.setenv("MMBENCH_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def fake_registry():
    """A registry of the built-in components (through their modules) plus the in-memory fakes."""
    import mmbench_plugins.reducers.basic as reducers
    import mmbench_zoo.attention_dnn as attention_dnn

    from mmbench.registry import build_registry, new_plugin_manager

    pm = new_plugin_manager()
    pm.register(FakePlugin(), name="fake")
    pm.register(reducers, name="basic_reducers")
    pm.register(attention_dnn, name="attention_dnn")
    return build_registry(pm, entry_points=False)
