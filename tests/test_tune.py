"""``mmbench tune``: the search file, a study with pruning, kill and resume, two workers on one SQLite."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

import sweep_fakes
from mmbench.leaderboard import store
from mmbench.errors import ConfigError
from mmbench.contract.components import RunContext
from mmbench.tuning import run as tune_run
from mmbench.tuning import spec as tune_spec
from mmbench.tuning import study as study_mod

WORKER = str(Path(__file__).with_name("tune_worker.py"))


def search(tmp_path, trials=20, **tune):
    """A search over the fakes: learning rate (log) and the pool model's width, median pruning."""
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    return {
        "dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"}, "reducer": {"name": "none"},
        "model": {"name": "pool_fake", "hidden": 8},
        "train": {"epochs": 4, "patience": 4, "batch_size": 256, "lr": 0.01, "threads": 1, "seed": 3},
        "tune": {"study": "fake_search", "trials": trials, "seed": 0, "startup_trials": 4, "storage": storage,
                 "space": {"train.lr": {"low": 1.0e-4, "high": 0.1, "log": True}, "model.hidden": [4, 8, 16]},
                 "pruner": {"name": "median", "startup_trials": 3, "warmup_epochs": 1}, **tune},
    }


@pytest.fixture
def registry():
    return sweep_fakes.make_registry()


def rows_of(lb: Path) -> list[dict]:
    return store.read_rows(lb / "fake.csv")


def load_study(raw):
    return optuna.load_study(study_name=raw["tune"]["study"], storage=raw["tune"]["storage"])


def test_search_file_mistakes_name_the_key(registry, tmp_path):
    def error(**change):
        raw = search(tmp_path)
        for key, value in change.items():
            section, _, name = key.partition("__")
            (raw[section] if not name else raw[section].setdefault(name, {})).update(value) if isinstance(
                value, dict) else raw.__setitem__(section, value)
        with pytest.raises(ConfigError) as info:
            tune_spec.from_dict(raw, registry, "s.yaml")
        return str(info.value)

    assert "has no parameter 'hiden' (did you mean 'hidden'?)" in error(tune__space={"model.hiden": [1, 2]})
    assert "selects luck" in error(tune__space={"train.seed": [1, 2]})
    assert "low < high" in error(tune__space={"train.lr": {"low": 0.1, "high": 0.01}})
    assert "log scale: low must be > 0" in error(tune__space={"train.lr": {"low": 0, "high": 0.1, "log": True}})
    assert "integer parameter" in error(tune__space={"model.hidden": {"low": 2.5, "high": 8}})
    assert "section one of encoder, reducer, model, train" in error(tune__space={"dataset.seed": [0, 1]})
    assert "tune.pruner must be one of median, halving, none" in error(tune__pruner={"name": "hyperband"})
    assert "low < high" in error(tune__space={"train.lr": {"low": 0.001, "high": float("inf")}})
    # the study's own settings have declared bounds: one line naming the key
    assert "s.yaml: tune.trials: must be between 1 and 1000000, got 0" in error(tune={**search(tmp_path)["tune"], "trials": 0})
    assert "s.yaml: tune.seed: must be between 0 and" in error(tune={**search(tmp_path)["tune"], "seed": -1})
    assert "s.yaml: tune.pruner.reduction_factor: must be between 2" in error(
        tune={**search(tmp_path)["tune"], "pruner": {"name": "halving", "reduction_factor": 1}})
    # a step Optuna would divide by, move high for, or make the range one point
    assert "integer parameter: step must be a whole number, got 0.5" in error(
        tune__space={"model.hidden": {"low": 4, "high": 16, "step": 0.5}})
    assert "'train.lr'.step 0.5 is larger than the range [0.001, 0.1]" in error(
        tune__space={"train.lr": {"low": 0.001, "high": 0.1, "step": 0.5}})
    assert "(16 - 4) is not a multiple of step 5" in error(tune__space={"model.hidden": {"low": 4, "high": 16,
                                                                                        "step": 5}})
    assert "set high to 14" in error(tune__space={"model.hidden": {"low": 4, "high": 16, "step": 5}})
    assert "'model.hidden' is an integer parameter: a float range would draw fractions" in error(
        tune__space={"model.hidden": {"low": 4, "high": 16, "type": "float"}})
    assert "'train.lr'.log must be true or false, got 'yes'" in error(
        tune__space={"train.lr": {"low": 0.001, "high": 0.1, "log": "yes"}})
    # every value the space can draw is validated as a run's config would be, before any trial
    assert error(tune__space={"train.lr": {"low": -0.1, "high": 0.1}}).startswith(
        "s.yaml: tune.space.train.lr: a trial could draw -0.1, which a run refuses: train.lr: must be > 0")
    assert error(tune__space={"train.batch_size": [64, 1, 256]}).startswith(
        "s.yaml: tune.space.train.batch_size: a trial could draw 1, which a run refuses: train.batch_size:")
    assert "tune.space.model.hidden: a trial could draw \"wide\"" in error(tune__space={"model.hidden": [4, "wide"]})
    # a float parameter is searched as a float even with integer bounds
    raw = search(tmp_path)
    raw["tune"]["space"] = {"train.net_reg": {"low": 0, "high": 1}}
    (dim,) = tune_spec.from_dict(raw, registry, "s.yaml").space
    assert dim.kind == "float"


def test_study_with_pruning_finishes_and_every_finished_trial_is_a_marked_row(registry, tmp_path):
    raw = search(tmp_path, trials=20)
    spec = tune_spec.from_dict(raw, registry, "s.yaml")
    lb = tmp_path / "lb"
    report = tune_run.run_tune(spec, registry, lb, ctx=RunContext(home=tmp_path / "home"))
    study = load_study(raw)
    states = [t.state for t in study.get_trials()]
    assert len(states) == 20 and report.ran_here == 20
    pruned = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.PRUNED]
    complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert pruned and complete and len(pruned) + len(complete) == 20
    # pruned trials stopped early: fewer epochs reported than the 4 a finished trial trains
    assert all(max(t.intermediate_values) < 4 for t in pruned)
    rows = rows_of(lb)
    assert sorted(int(r["trial"]) for r in rows) == sorted(t.number for t in complete)
    assert all(r["study"] == "fake_search" and r["status"] == "ok" for r in rows)
    by_trial = {int(r["trial"]): r for r in rows}
    for t in complete:
        row = by_trial[t.number]
        assert float(row["valid_auc"]) == pytest.approx(t.value, abs=1e-6)
        # fed by the trainer's per-epoch valid AUC; the row is the restored best epoch
        assert t.value == pytest.approx(max(t.intermediate_values.values()), abs=1e-6)
        assert row["config_hash"] == t.user_attrs["config_hash"]
    # trial 0 is the base config's own values; the report compares the best with it (paired DeLong)
    assert study.trials[0].params == {"train.lr": 0.01, "model.hidden": 8}
    best = report.trials[0]
    assert best.state == "complete" and best.value == pytest.approx(study.best_value)
    if best.number != 0:
        assert report.comparison.defaults.number == 0 and 0 <= report.comparison.p_value <= 1
        assert report.comparison.delta == pytest.approx(best.value - study.trials[0].value, abs=1e-6)
    best_yaml = yaml.safe_load(report.best_config.read_text())
    assert best_yaml["train"]["lr"] == pytest.approx(best.values["train.lr"])
    # started again, nothing runs: the budget is used
    again = tune_run.run_tune(spec, registry, lb, ctx=RunContext(home=tmp_path / "home"))
    assert again.ran_here == 0 and len(rows_of(lb)) == len(rows)


def _kill_midway(tmp_path):
    """Start a 10-trial study whose worker holds inside the first epoch of the trial after the third
    complete one (tune_worker.py, TUNE_WORKER_HOLD), and SIGKILL it there. Returns (search, worker
    command, leaderboard dir)."""
    tmp_path.mkdir()
    raw = search(tmp_path, trials=10, pruner="none")
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(raw))
    lb, home, ready = tmp_path / "lb", tmp_path / "home", tmp_path / "held"
    cmd = [sys.executable, WORKER, str(path), str(lb), str(home)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TUNE_WORKER_HOLD": f"{ready}:3"})
    deadline = time.time() + 600
    while not ready.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()  # SIGKILL
    _, err = proc.communicate()
    assert ready.exists(), f"the worker never reached the held trial: {err[-2000:]}"
    return raw, cmd, lb


def test_killed_midway_then_resumed_without_repeating_finished_trials(tmp_path):
    raw, cmd, lb = _kill_midway(tmp_path / "study")
    before = {r["trial"]: r for r in rows_of(lb)}
    study = load_study(raw)
    finished_before = {t.number for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE}
    assert 3 <= len(finished_before) < 10, "the kill must land midway"
    assert len(study.get_trials(states=(optuna.trial.TrialState.RUNNING,))) == 1, "the killed trial"

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    study = load_study(raw)
    complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 10 and study_mod.used(study) == 10
    rows = rows_of(lb)
    assert len(rows) == 10 and len({r["trial"] for r in rows}) == 10
    # the trials finished before the kill were not run again: same rows, same timestamps
    assert all(next(r for r in rows if r["trial"] == k)["timestamp"] == v["timestamp"] for k, v in before.items())
    # the trial that the kill interrupted failed and its parameters (those it had drawn) ran again
    interrupted = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    retried = [t for t in complete if study_mod.RETRY_OF in t.user_attrs]
    assert len(interrupted) == len(retried) == 1
    for old, new in zip(interrupted, retried):
        assert new.user_attrs[study_mod.RETRY_OF] == old.number and old.params.items() <= new.params.items()


def test_two_workers_on_one_sqlite_file_share_one_study(tmp_path):
    raw = search(tmp_path, trials=12, pruner="none")
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(raw))
    lb, home = tmp_path / "lb", tmp_path / "home"
    cmd = [sys.executable, WORKER, str(path), str(lb), str(home)]
    workers = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err[-2000:]
    study = load_study(raw)
    counted = [t for t in study.get_trials() if study_mod.counts(t)]
    assert len(counted) == 12 and all(t.state == optuna.trial.TrialState.COMPLETE for t in counted)
    assert len({t.user_attrs[study_mod.WORKER] for t in counted}) == 2, "both workers ran trials"
    assert sum(bool(t.user_attrs.get(study_mod.DEFAULTS)) for t in study.get_trials()) == 1
    rows = rows_of(lb)
    assert sorted(int(r["trial"]) for r in rows) == sorted(t.number for t in counted)
    assert {r["config_hash"] for r in rows} == {t.user_attrs["config_hash"] for t in counted}


def test_dry_run_checks_the_space_and_runs_nothing(registry, tmp_path):
    raw = search(tmp_path)
    lines = []
    raw["tune"]["space"]["model.hidden"] = [4, 16]
    tune_run.describe(tune_spec.from_dict(raw, registry, "s.yaml"), registry, RunContext(home=tmp_path), lines.append)
    text = "\n".join(lines)
    assert "train.lr: float in [0.0001, 0.1] (log)" in text and "20 trials would run" in text
    assert "not queued: they lie outside the space" in text  # hidden=8 is not among [4, 16]
    assert "fake_search" not in optuna.get_all_study_names(raw["tune"]["storage"])


def test_ray_executor_runs_trials_as_tasks_that_report_each_epoch(registry, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mmbench[ray]')")
    raw = search(tmp_path, trials=6)
    raw["tune"]["parallel"] = 2
    raw["tune"]["pruner"] = {"name": "median", "startup_trials": 2, "warmup_epochs": 1}
    raw["executor"], raw["ray"] = "ray", {"num_cpus": 1}
    spec = tune_spec.from_dict(raw, registry, "s.yaml")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent), "OMP_NUM_THREADS": "1"}})
    relayed: dict[int, list[int]] = {}

    class Epochs(tune_run.Display):
        def epoch(self, number, log):
            relayed.setdefault(number, []).append(log.epoch)

    try:
        report = tune_run.run_tune(spec, registry, tmp_path / "lb", ctx=RunContext(home=tmp_path / "home"),
                                   display=Epochs())
    finally:
        ray.shutdown()
    study = load_study(raw)
    finished = [t for t in study.get_trials() if study_mod.counts(t)]
    assert len(finished) == 6 == report.ran_here
    # every trial's epochs were reported to the shared storage by the Ray task that trained it
    assert all(len(t.intermediate_values) >= 1 for t in finished)
    # ... and relayed to the driver's display as they ended, named by the trial
    assert relayed == {t.number: sorted(t.intermediate_values) for t in finished}
    complete = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    rows = rows_of(tmp_path / "lb")
    assert sorted(int(r["trial"]) for r in rows) == sorted(t.number for t in complete)


# --------------------------------------------------------------------- what the command line prints


def _cli_tune(raw, tmp_path, monkeypatch, capsys, registry, *extra):
    """``mmbench tune`` in-process with the fakes' registry: (exit code, stdout, stderr)."""
    from mmbench import cli
    from mmbench.commands import tune as tune_command

    monkeypatch.setattr(tune_command, "default_registry", lambda: registry)
    monkeypatch.setenv("MMBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MMBENCH_DEBUG", raising=False)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(raw))
    capsys.readouterr()
    rc = cli.main(["tune", str(path), "--leaderboard-dir", str(tmp_path / "lb"), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_value_a_run_refuses_stops_the_search_before_any_trial(registry, tmp_path, monkeypatch, capsys, dry_run):
    raw = search(tmp_path, trials=3)
    raw["tune"]["space"]["train.batch_size"] = {"low": 1, "high": 512}  # 1 is reachable, a run refuses it
    rc, out, err = _cli_tune(raw, tmp_path, monkeypatch, capsys, registry, *(["--dry-run"] if dry_run else []))
    assert rc == 2 and "Traceback" not in out + err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'search.yaml'}: tune.space.train.batch_size: a trial could draw 1, "
                           "which a run refuses: train.batch_size: must be between 2 and")
    assert not (tmp_path / "lb").exists() and not (tmp_path / "studies.db").exists()


def test_a_failed_trial_is_one_line_without_optunas_warning(registry, tmp_path, monkeypatch, capsys):
    raw = search(tmp_path, trials=2)
    raw["model"] = {"name": "broken_fake"}
    raw["tune"]["space"] = {"train.lr": {"low": 1.0e-3, "high": 0.1, "log": True}}
    rc, out, err = _cli_tune(raw, tmp_path, monkeypatch, capsys, registry)
    assert rc == 0, err
    assert "Traceback" not in out + err and "[W " not in out + err and "failed with parameters" not in out + err
    assert err.strip() == ""
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 2 and all("RuntimeError: broken_fake always fails" in line for line in failed)
    assert [re.search(r"trial (\d+)", line).group(1) for line in failed] == ["0", "1"]


def test_ctrl_c_during_a_trial_prints_one_line(registry, tmp_path, monkeypatch, capsys):
    from mmbench.run import pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_model", interrupted)
    rc, out, err = _cli_tune(search(tmp_path, trials=3), tmp_path, monkeypatch, capsys, registry)
    assert rc == 130
    assert err.strip().splitlines() == ["interrupted: stopped by Ctrl-C; nothing partial was written"]
    assert "Traceback" not in out and "KeyboardInterrupt" not in out


def test_the_summary_counts_pruned_and_failed_trials_apart_from_complete_ones():
    from rich.console import Console

    from mmbench.commands.tune import _final_table
    from mmbench.tuning.run import TrialLine, TuneReport

    report = TuneReport("s", "sqlite://", 4, "maximize", "auc", trials=[
        TrialLine(0, "complete", 0.71, {}), TrialLine(2, "complete", 0.70, {}),
        TrialLine(1, "pruned", 0.60, {}, epochs=1), TrialLine(3, "failed", None, {})])
    assert report.counts() == "2 complete, 1 pruned, 1 failed"
    assert TuneReport("s", "", 1, "maximize", "auc", trials=[TrialLine(0, "pruned", 0.6, {})]).counts() == \
        "0 complete, 1 pruned"
    console = Console(width=200, record=True)
    console.print(_final_table(report, [], 10))
    assert "the first 4 of 4 trials (2 complete, 1 pruned, 1 failed)" in " ".join(console.export_text().split())
