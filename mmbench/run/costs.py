"""What a result cost: peak memory of a run and the name of the device it ran on.

Peak memory is the peak resident set size (RSS) of the process on CPU, and the peak of
``torch.cuda.max_memory_allocated`` on a CUDA device. Both peaks are reset when a run starts, so that
each row of a sweep (many runs in one process) reports its own peak, not the process's: on Linux by
writing ``5`` to ``/proc/self/clear_refs`` (which resets ``VmHWM``); where that is not possible the
process's peak since its start is reported instead (an upper bound).
"""
from __future__ import annotations

import platform
import resource
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

PROC_STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _vm_hwm_mb() -> float | None:
    """The process's peak RSS since the last reset (Linux ``VmHWM``), in MB."""
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def _reset_rss_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _process_peak_mb() -> float:
    """Peak RSS since the process started (``ru_maxrss``: kB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if platform.system() == "Darwin" else peak / 1024


@dataclass
class PeakMemory:
    """Peak memory of one run on one device: ``start()`` before, ``stop()`` after (MB)."""

    device: torch.device

    def start(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self.reset = _reset_rss_peak()
        return self

    def stop(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        peak = _vm_hwm_mb() if getattr(self, "reset", False) else None
        return peak if peak is not None else _process_peak_mb()


@lru_cache(maxsize=None)
def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_name(device: torch.device) -> str:
    """``NVIDIA H100 80GB HBM3`` for a GPU, the processor's model name for the CPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return _cpu_name()


def per_second(count: int, seconds: float) -> float | str:
    """``count / seconds``, or "" when nothing was timed (a cache hit, a zero-length run)."""
    return round(count / seconds, 1) if seconds > 0 and count > 0 else ""
