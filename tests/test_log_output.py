"""Output made for logs: a run, a sweep and the leaderboard with their output in a pipe (a batch job's
log), read line by line as they come; the event stream's renderers on their own."""
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import fuzz_cases as fz
from mmbench.output import events as ev
from mmbench.run.trainer import EpochLog

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
EPOCHS = 2


def piped(*args, home: Path) -> tuple[list[tuple[float, str]], int]:
    """Run ``mmbench ARGS`` with stdout and stderr into one pipe; (seconds since start, line) as read."""
    env = {**os.environ, "MMBENCH_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("COLUMNS", None)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "mmbench.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    lines = [(time.monotonic() - t0, line.rstrip("\n")) for line in proc.stdout]
    return lines, proc.wait(timeout=60)


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_root):
    raw = fz.base_config()
    raw["dataset"]["data_root"] = str(tiny_root)
    raw["train"].update(epochs=EPOCHS, patience=EPOCHS, threads=1)
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def run_log(config, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    lines, rc = piped("run", str(config), "--leaderboard-dir", str(home / "lb"), home=home)
    assert rc == 0, "\n".join(t for _, t in lines)
    return lines


def test_a_piped_run_writes_timestamped_stage_and_epoch_lines_at_once(run_log):
    texts = [t for _, t in run_log]
    assert run_log[0][0] < 2.0 and STAMP.match(texts[0]) and "mmbench run" in texts[0]  # before torch loads
    events = [t for t in texts if STAMP.match(t)]
    for stage in ("start-up", "resolve", "data", "encode", "reduce", "train", "record"):
        assert any(re.search(rf" {stage}: start", t) for t in events), stage
        assert any(re.search(rf" {stage}: done in \d+(\.\d)?s", t) for t in events), stage
    epochs = [t for t in events if re.search(r" epoch \d+: train logloss 0\.\d{4}  valid AUC 0\.\d{4} .*\(\d", t)]
    assert len(epochs) == EPOCHS
    # stage lines come before the result; the result (summary table, hints) follows them
    last_event = max(i for i, t in enumerate(texts) if STAMP.match(t))
    assert all(not STAMP.match(t) for t in texts[last_event + 1:])
    hint = [t for t in texts if "mmbench predict" in t]
    assert len(hint) == 1 and re.search(r"mmbench predict [0-9a-f]{12} --out DIR\)$", hint[0])  # one line, not wrapped
    assert not any("\x1b[" in t for t in texts)  # no terminal control codes in a log


def test_json_log_is_one_object_per_line(config, tmp_path):
    lines, rc = piped("--log-format", "json", "run", str(config), "--leaderboard-dir", str(tmp_path / "lb"),
                      home=tmp_path)
    assert rc == 0
    records = [json.loads(t) for _, t in lines]  # every line parses
    assert all("event" in r and "time" in r for r in records)
    kinds = [r["event"] for r in records]
    assert kinds[0] == "started" and kinds[-1] == "result"
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [r["epoch"] for r in epochs] == list(range(1, EPOCHS + 1))
    assert all(0 < r["metrics"]["auc"] < 1 and r["seconds"] > 0 and r["train_logloss"] > 0 for r in epochs)
    ends = {r["stage"]: r["seconds"] for r in records if r["event"] == "stage_end"}
    assert {"data", "encode", "reduce", "train", "record"} <= ends.keys()
    result = records[-1]
    assert result["row"]["valid_auc"] == pytest.approx(max(r["metrics"]["auc"] for r in epochs), abs=1e-6)
    assert result["row"]["config_hash"] in result["run_dir"]


def test_quiet_prints_the_result_only(config, tmp_path):
    lines, rc = piped("run", str(config), "-q", "--leaderboard-dir", str(tmp_path / "lb"), home=tmp_path)
    texts = [t for _, t in lines]
    assert rc == 0
    assert not any(STAMP.match(t) for t in texts)
    assert any("valid AUC" in t for t in texts) and any("mmbench predict" in t for t in texts)


@pytest.fixture(scope="module")
def sweep_log(config, tmp_path_factory):
    """A two-run sweep (seeds 1, 2), piped; its leaderboard folder serves the table tests."""
    home = tmp_path_factory.mktemp("sweep")
    raw = yaml.safe_load(config.read_text())
    raw["sweep"] = {"seeds": [1, 2]}
    sweep = home / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(raw))
    lines, rc = piped("sweep", str(sweep), "--leaderboard-dir", str(home / "lb"), home=home)
    assert rc == 0, "\n".join(t for _, t in lines)
    return [t for _, t in lines], home / "lb"


def test_a_piped_sweep_names_each_runs_epochs(sweep_log):
    texts, _ = sweep_log
    epochs = [t for t in texts if re.search(r"\] epoch \d+: train logloss", t)]
    labels = {re.search(r"\[([0-9a-f]{12}) random/pca/din seed (\d)\]", t).group(2) for t in epochs}
    assert len(epochs) == 2 * EPOCHS and labels == {"1", "2"}
    assert any(re.search(r" encode: done in", t) for t in texts)
    assert texts[-2].startswith("sweep done: 2 combinations")


def test_a_piped_leaderboard_keeps_every_number(sweep_log, capsys):
    from mmbench import cli

    _, board = sweep_log

    def shown(*args) -> list[str]:
        capsys.readouterr()
        assert cli.main(["leaderboard", "--leaderboard-dir", str(board), *args]) == 0
        return capsys.readouterr().out.splitlines()  # captured: not a terminal, as in a pipe

    texts = shown()
    assert not any("…" in t for t in texts)
    assert re.search(r"0\.\d{4} ± 0\.\d{4}  \[0\.\d{4}, 0\.\d{4}\]", "\n".join(texts))
    header, row = (line.split("\t") for line in shown("--format", "tsv")[:2])
    assert header[:3] == ["encoder", "reducer", "model"] and len(row) == len(header)
    texts = shown("--runs")
    assert "valid_auc" in texts[1] and "config_hash" in texts[1] and not any('{"' in t for t in texts)
    assert len(texts) == 2 + 2  # title, header, one line per run
    assert shown("--runs", "--format", "csv")[0].startswith("timestamp,dataset,")  # the CSV as stored


# ------------------------------------------------------------------------------ the renderers alone


def test_progress_lines_are_rate_bounded_with_an_eta():
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("text", out, heartbeat=0, min_seconds=0))
    with events.task("encode titles", 1000) as task:
        for _ in range(1000):
            task.advance(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10  # each 10 %, not each item
    assert "encode titles: 100/1,000 (10 %)" in lines[0] and "ETA" in lines[0]
    assert "(100 %)" in lines[-1]
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("text", out, heartbeat=0))  # the default: nothing within 5 s
    with events.task("a quick loop", 1000) as task:
        for _ in range(1000):
            task.advance(1)
    assert out.getvalue() == ""


def test_the_heartbeat_names_the_open_stage_and_its_progress():
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("json", out, heartbeat=0.5))
    with events.stage("train"):
        task = events.task("train epoch 1", 10)
        task.update(completed=3)
        time.sleep(3.3)
    events.close()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    beats = [r for r in records if r["event"] == "heartbeat"]
    assert len(beats) >= 2 and beats[0]["stage"] == "train" and beats[0]["progress"]["done"] == 3
    assert beats[-1]["progress"]["eta_seconds"] > beats[0]["progress"]["eta_seconds"] > 0  # brought up to date


def test_the_heartbeat_covers_a_first_step_longer_than_its_period():
    """A full-scale epoch's first step can take longer than the heartbeat: the beat before any progress
    reads 0 % (it used to raise in its thread, leaving a silent log for the rest of the run)."""
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("text", out, heartbeat=0.5))
    with events.stage("train"):
        task = events.task("train epoch 1", 440)
        time.sleep(1.8)
        task.update(completed=1)
        time.sleep(1.5)
    events.close()
    beats = [line for line in out.getvalue().splitlines() if "running for" in line]
    assert any("train epoch 1: 0/440 (0 %)" in b for b in beats), out.getvalue()
    assert any("train epoch 1: 1/440 (0 %)" in b for b in beats), out.getvalue()  # the thread lived on


def test_epochs_and_failed_stages_as_text():
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("text", out, heartbeat=0))
    events.epoch(EpochLog(3, 0.41234, {"auc": 0.7, "logloss": 0.5, "gauc": 0.6}, 12.0), run="abc")
    with pytest.raises(ValueError), events.stage("encode"):
        raise ValueError("boom")
    first, start, end = out.getvalue().splitlines()
    assert first.endswith("[abc] epoch 3: train logloss 0.4123  valid AUC 0.7000  logloss 0.5000  gAUC 0.6000  (12.0s)")
    assert "encode: start" in start and "encode: FAILED after" in end and STAMP.match(end)


def test_rich_progress_calls_of_plugins_feed_the_stream():
    """ctx.progress keeps rich's add_task / update / remove_task for plugins written against rich."""
    out = io.StringIO()
    events = ev.Events(ev.LineRenderer("json", out, heartbeat=0, min_seconds=0))
    progress = events.progress
    tid = progress.add_task("encode covers", total=4, loss="")
    for _ in range(4):
        progress.update(tid, advance=1, loss="9 items/s")
    progress.remove_task(tid)
    kinds = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert kinds[0] == "task_start" and kinds[-1] == "task_end" and kinds.count("progress") == 4


def test_early_options_read_the_raw_command_line():
    assert ev.early_options(["run", "c.yaml", "--log-format", "json"]) == ("json", False)
    assert ev.early_options(["--log-format=text", "-q", "sweep", "s.yaml"]) == ("text", True)
    assert ev.early_options(["run", "c.yaml", "--log-format", "xml"]) == (None, False)  # the parser refuses it
