"""`mmbench bench train`: a run too short for its warm-up is refused up front; an untimed side says so."""
from __future__ import annotations

import json

from mmbench.bench.train import render
from mmbench.bench.workload import StepClock
from mmbench.cli import main


def test_a_run_inside_its_warmup_is_refused_with_what_to_change(capsys):
    # tiny has 5,000 train rows: one epoch of batch 4096 is 2 optimizer steps, both inside 5 warm-up steps
    assert main(["bench", "train", "--scale", "tiny", "--epochs", "1", "--batch-size", "4096", "--device", "cpu"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert ("this run makes 2 optimizer step(s) (1 epoch(s) x 2 batches of 4096 from 5,000 rows), all inside the 5 "
            "warm-up steps") in err
    assert "lower --warmup, add --epochs or use a smaller --batch-size" in err and "nan" not in err


def test_a_side_with_no_timed_step_says_not_timed():
    meta = {"dataset": "d", "train_rows": 10, "valid_rows": 5, "vector_source": "v", "warmup_steps": 5,
            "train": {"batch_size": 8, "epochs": 1}}
    timed = {"model": "din", "device": "cpu", "threads": 1, "samples_per_second": 123.0, "measured_steps": 4,
             "wall_seconds": 1.0, "peak_memory_mb": 10.0, "valid_auc": 0.7}
    untimed = {**timed, "model": "fuxictr", "samples_per_second": None, "measured_steps": 0}
    text = render(meta, [timed, untimed])
    line = next(line for line in text.splitlines() if line.startswith("fuxictr"))
    assert "not timed" in line and "nan" not in text.lower() and "ratio" not in text



def test_the_step_clock_reports_none_when_every_step_was_warm_up():
    clock = StepClock(warmup=5)
    clock.epoch_start()
    for _ in range(3):
        clock.tick(8)
    assert clock.samples_per_second() is None and json.dumps({"s": clock.samples_per_second()}) == '{"s": null}'
    for _ in range(3):
        clock.tick(8)
    assert clock.durations and clock.samples_per_second() > 0 and clock.samples == 8
