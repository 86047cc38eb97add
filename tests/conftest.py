import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import registry_with_fakes  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own $MMBENCH_HOME unless it sets one; the shared synth cache is reused."""
    if "MMBENCH_HOME" not in os.environ or not os.environ["MMBENCH_HOME"].startswith(str(tmp_path_factory.getbasetemp())):
        monkeypatch.setenv("MMBENCH_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """The tiny synthetic data root, generated once per session (tests copy it before changing it)."""
    from mmbench_plugins.datasets.synth.world1 import generate

    root = tmp_path_factory.mktemp("data") / "tiny"
    generate(root, "tiny", 0)
    return root


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a test module: two threads on a shared 2-core machine spend most of
    their time in barriers. (Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.)"""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fake_registry():
    """A registry of the built-in components (through their modules) plus the in-memory fakes."""
    import mmbench_zoo.attention_dnn as attention_dnn

    return registry_with_fakes(attention_dnn=attention_dnn)


@pytest.fixture
def example_site(tmp_path, monkeypatch):
    """A site folder on sys.path holding the example plugin's metadata, with the default registry
    rebuilt before and after; tests may add more distributions to it."""
    from mmbench.contract.registry import reset_default_registry
    from plugin_dists import EXAMPLE_SRC, install_example_plugin

    site = install_example_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    monkeypatch.syspath_prepend(str(site))
    reset_default_registry()
    yield site
    reset_default_registry()
