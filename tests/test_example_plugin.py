"""The example third-party plugin, installed for real into a throwaway environment.

A venv that sees this interpreter's site-packages (mmbench among them) gets
plugins/mmbench-example-plugin; `mmbench plugins` lists its components with its distribution, a run
puts its rows on the leaderboard, and after `pip uninstall` it is gone again.
"""
import csv
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "mmbench-example-plugin"


def _pip_can_target_another_python() -> bool:
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    if out.returncode:
        return False
    major, minor = (int(x) for x in out.stdout.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)  # pip --python


@pytest.fixture
def venv(tmp_path):
    """A throwaway venv that sees exactly this interpreter's packages (torch, mmbench, setuptools, wheel).

    ``--system-site-packages`` would show the *base* interpreter's site-packages instead, which on a
    fresh machine hold neither mmbench's dependencies nor a setuptools that can build a wheel; a
    ``site.addsitedir`` line in a .pth file adds this interpreter's folders and runs their own .pth
    files, so the editable mmbench install is found too.
    """
    if not _pip_can_target_another_python():
        pytest.skip("needs pip >= 22.3 (pip --python) in the test interpreter")
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    own_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
    outer = [p for p in site.getsitepackages() + [site.getusersitepackages()] if Path(p).is_dir()]
    Path(own_site, "_outer_site.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in outer) + "\n")
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                          "--no-build-isolation", "--disable-pip-version-check", str(PLUGIN)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return python


def _mmbench(python, *args, env):
    return subprocess.run([str(python), "-m", "mmbench.cli", *args], capture_output=True, text=True, env=env,
                          cwd=env["MMBENCH_HOME"])


def _listed(python, env) -> dict:
    out = _mmbench(python, "plugins", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return {(r["kind"], r["name"]): (r["distribution"], r["version"]) for r in json.loads(out.stdout)}


def test_installed_example_plugin_is_listed_benchmarked_and_uninstalled(venv, tmp_path):
    env = {**os.environ, "MMBENCH_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    (tmp_path / "home").mkdir()
    listed = _listed(venv, env)
    assert listed[("encoder", "hashed_bow")] == ("mmbench-example-plugin", "0.1.0")
    assert listed[("model", "mean_pool_lr")] == ("mmbench-example-plugin", "0.1.0")

    lb = tmp_path / "lb"
    run = _mmbench(venv, "run", str(PLUGIN / "example.yaml"), "--set", "train.epochs=2",
                   "--leaderboard-dir", str(lb), env=env)
    assert run.returncode == 0, run.stderr
    (row,) = list(csv.DictReader(open(lb / "microlens_1m_synth-tiny-s0.csv")))
    assert (row["encoder"], row["reducer"], row["model"], row["status"]) == ("hashed_bow", "pca", "mean_pool_lr", "ok")
    assert float(row["valid_auc"]) > 0.6  # the titles name the topic, and the topic drives the clicks

    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv), "uninstall", "-y", "-q",
                    "mmbench-example-plugin"], check=True, capture_output=True)
    listed = _listed(venv, env)
    assert ("encoder", "hashed_bow") not in listed and ("model", "mean_pool_lr") not in listed
    assert ("model", "attention_dnn") in listed


def test_the_example_plugins_own_tests_pass(tmp_path):
    """Its tests are what a plugin author copies: they run from its folder without installing it (the
    scaffold's are run by tests/test_scaffold.py)."""
    env = {**os.environ, "PYTHONPATH": str(PLUGIN), "MMBENCH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=PLUGIN,
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout.strip().splitlines()[-1]
