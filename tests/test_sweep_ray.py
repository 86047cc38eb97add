"""``executor: ray`` on a local Ray started by the test gives the same rows as ``executor: local``."""
import csv
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mmbench[ray]')")

import sweep_fakes  # noqa: E402
from mmbench.contract.components import RunContext  # noqa: E402
from mmbench.output.events import Events  # noqa: E402
from mmbench.sweep import run_sweep  # noqa: E402
from mmbench.sweep.plan import from_dict  # noqa: E402

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture
def local_ray():
    # workers import the fakes (tests/) by module name, like installed plugins
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": TESTS, "OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


def rows(directory: Path) -> dict[str, dict]:
    with open(directory / "fake.csv", newline="") as f:
        return {r["config_hash"]: r for r in csv.DictReader(f)}


def test_ray_executor_gives_the_local_rows(local_ray, tmp_path):
    spec = from_dict({
        "dataset": {"name": "fake"},
        "train": {"epochs": 1, "batch_size": 128, "lr": 0.01, "threads": 1, "max_train_rows": 600},
        "sweep": {"encoder": ["shipped_fake"], "reducer": ["none", {"name": "learned", "dim": 3}],
                  "model": ["pool_fake", "broken_fake"], "seeds": [1]},
        "executor": "ray", "ray": {"num_cpus": 1},
    })
    registry = sweep_fakes.make_registry()
    heard = []

    class Recorder:
        def render(self, event, fields):
            heard.append((event, fields))

        def close(self):
            pass

    on_ray = run_sweep(spec, registry, tmp_path / "ray", ctx=RunContext(home=tmp_path / "h1", events=Events(Recorder())))
    local = run_sweep(spec, registry, tmp_path / "local", ctx=RunContext(home=tmp_path / "h2"), executor="local")
    assert (on_ray.ran, on_ray.failed) == (local.ran, local.failed) == (4, 2)
    a, b = rows(tmp_path / "ray"), rows(tmp_path / "local")
    assert a.keys() == b.keys()
    for h in a:
        assert (a[h]["status"], a[h]["error"]) == (b[h]["status"], b[h]["error"])
        assert a[h]["valid_auc"] == b[h]["valid_auc"] and a[h]["valid_logloss"] == b[h]["valid_logloss"]
    assert {r["status"] for r in a.values()} == {"ok", "failed"}
    # each trained run's epochs came back from its worker to the driver's stream, named by the run
    epochs = [f for event, f in heard if event == "epoch"]
    ok = {h for h in a if a[h]["status"] == "ok"}
    assert {f["run"].split()[0] for f in epochs} == ok and len(epochs) == len(ok)
    assert all(f["epoch"] == 1 and 0 < f["metrics"]["auc"] < 1 for f in epochs)
