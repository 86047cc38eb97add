"""`mmbench new-plugin` writes a project whose own tests pass out of the box."""
import os
import subprocess
import sys

import pytest

from mmbench import cli
from mmbench.errors import MMBenchError
from mmbench.scaffold import names_for


def test_names():
    assert names_for("my-encoder") == {"dist": "mmbench-my-encoder", "package": "mmbench_my_encoder", "short": "my_encoder"}
    assert names_for("mmbench-clip2") == {"dist": "mmbench-clip2", "package": "mmbench_clip2", "short": "clip2"}
    with pytest.raises(MMBenchError, match="must start with a letter"):
        names_for("2fast")


def test_scaffold_passes_its_own_tests(tmp_path, capsys):
    assert cli.main(["new-plugin", "Tiny Demo", "--out", str(tmp_path)]) == 0
    project = tmp_path / "mmbench-tiny-demo"
    assert (project / "pyproject.toml").read_text().count('tiny_demo = "mmbench_tiny_demo"') == 1
    env = {**os.environ, "PYTHONPATH": str(project)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "3 passed" in out.stdout
    assert cli.main(["new-plugin", "Tiny Demo", "--out", str(tmp_path)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


def test_install_advice_names_the_folder_not_a_pypi_name(tmp_path, monkeypatch, capsys):
    """`pip install mmbench-my-encoder` would look the name up on PyPI; the advice is the local folder."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new-plugin", "my-encoder", "--out", "."]) == 0
    out = capsys.readouterr().out
    assert "pip install -e ./mmbench-my-encoder " in out and "cd ./mmbench-my-encoder &&" in out
    assert (tmp_path / "mmbench-my-encoder" / "pyproject.toml").is_file()
