"""Progress and timing of an encoding pass: items/s on the CLI's display, seconds per part for benchmarks."""
from __future__ import annotations

import time
from dataclasses import dataclass


class Meter:
    """A rich progress task showing items/s (in the ``loss`` field the CLI's progress displays)."""

    def __init__(self, progress, description: str, total: int):
        self.progress, self.t0, self.done = progress, time.perf_counter(), 0
        self.task = progress.add_task(description, total=total, loss="") if progress is not None else None

    def advance(self, n: int) -> None:
        self.done += n
        if self.task is not None:
            rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
            self.progress.update(self.task, advance=n, loss=f"{rate:,.0f} items/s")

    def close(self) -> float:
        """Remove the task; return items/s."""
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        return self.done / max(time.perf_counter() - self.t0, 1e-9)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class Timing:
    """Seconds spent, for ``mmbench bench encode``: waiting for decoded covers vs in the model."""

    decode: float = 0.0
    image_model: float = 0.0
    tokenize: float = 0.0
    text_model: float = 0.0
    n_images: int = 0
    n_titles: int = 0
