"""The cost columns on CPU: train samples/s, encode items/s, peak memory (RSS) and the device's name,
each equal to what the run measured; the peak is the run's own, not the process's."""
from __future__ import annotations

import mmap
from pathlib import Path

import pytest
import torch

import sweep_fakes
from mmbench.run import config as config_mod
from mmbench.run import costs, pipeline
from mmbench.contract.components import RunContext

CONFIG = {"dataset": {"name": "fake"}, "encoder": {"name": "counting_fake"}, "reducer": {"name": "none"},
          "model": {"name": "pool_fake"}, "train": {"epochs": 2, "patience": 2, "batch_size": 256, "threads": 1,
                                                    "device": "cpu"}}


def _cpu_model_name() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")


def test_a_cpu_run_records_what_it_cost(tmp_path):
    registry = sweep_fakes.make_registry()
    resolved = pipeline.resolve(config_mod.from_dict(CONFIG), registry)
    ctx = RunContext(home=tmp_path / "home")
    first = pipeline.run(resolved, ctx)
    row, trained = first.row, first.result
    n_train = len(pipeline.load_data(resolved.dataset, ctx).train.label)
    # samples/s: every training row of every epoch over the seconds spent in training steps
    assert row.samples_per_second == pytest.approx(n_train * trained.epochs_run / trained.train_seconds, rel=1e-3)
    # items/s: the real items (row 0 is padding) over the encode stage's seconds, on a cache miss only
    n_items = len(first.encoding.vectors) - 1
    assert not first.encoding.cache_hit
    assert row.encode_items_per_second == pytest.approx(n_items / first.encoding.seconds, rel=1e-3)
    again = pipeline.run(resolved, ctx)
    assert again.encoding.cache_hit and again.row.encode_items_per_second == ""
    # the device as the machine names it, and a peak RSS between the interpreter's and the machine's
    assert row.device == "cpu" and row.device_name == (_cpu_model_name() or row.device_name) != ""
    total_mb = Path("/proc/meminfo").read_text().split()[1] if Path("/proc/meminfo").exists() else None
    assert 50 < row.peak_memory_mb and (total_mb is None or row.peak_memory_mb < int(total_mb) / 1024)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="RSS peaks reset on Linux only")
def test_peak_memory_is_the_runs_own_on_cpu():
    cpu = torch.device("cpu")
    big = costs.PeakMemory(cpu).start()
    block = mmap.mmap(-1, 300 * 2**20)  # 300 MB outside the heap (train.cpu_malloc_tuning keeps freed heap resident)
    for start in range(0, len(block), 2**20):  # touched page by page: resident
        block[start:start + 2**20] = b"x" * 2**20
    with_block = big.stop()
    block.close()  # unmapped: no longer resident
    small = costs.PeakMemory(cpu).start()
    without = small.stop()
    assert with_block - without > 250  # the first peak saw the block, the second (reset) did not
    rss_mb = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                      if line.startswith("VmRSS:")).split()[1]) / 1024
    assert abs(without - rss_mb) < 50  # a run that allocates nothing peaks at what the process holds


def test_device_names_and_rates():
    assert costs.device_name(torch.device("cpu")) == (_cpu_model_name() or costs.device_name(torch.device("cpu")))
    assert costs.per_second(1000, 2.0) == 500.0
    assert costs.per_second(1000, 0.0) == "" and costs.per_second(0, 1.0) == ""
