"""The shared stages of a sweep: each encoder's vectors once, each (encoder, reducer) reduction once,
whatever the number of models trained on them; then one model per planned run. A failure of a stage
or a model becomes a failed row, never an exception (Ctrl-C still stops the sweep)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..run import pipeline
from ..run.callbacks import RunCallbacks
from ..contract.components import RunContext, ValidPredictions
from ..errors import one_line
from ..run.row import Row
from .plan import PlannedRun, grouped


@dataclass
class Prepared:
    """What every model of one (encoder, reducer) pair trains on, or why that pair failed."""

    reduction: pipeline.Reduction | None
    encoding: pipeline.Encoding | None  # its seconds and stats go into each row
    error: str | None = None


def prepared_stages(todo: list[PlannedRun], data, ctx: RunContext,
                    log: Callable[[str], None]) -> Iterator[tuple[list[PlannedRun], Prepared]]:
    """(runs, Prepared) per (encoder, reducer) pair, one encoder's vectors in memory at a time."""
    for enc_group in grouped(todo, "encoder"):
        first = enc_group[0].resolved
        try:
            encoding = pipeline.encode_items(first, data, ctx)
            log(f"encoder {first.encoder.name}: {encoding.vectors.shape[1]}-d vectors "
                f"({'cache hit' if encoding.cache_hit else f'computed in {encoding.seconds:.1f}s'})")
            error = None
        except Exception as exc:  # any plugin failure becomes failed rows; Ctrl-C still stops the sweep
            encoding, error = None, f"encoder {first.encoder.name}: {one_line(exc)}"
            log(error)
        for red_group in grouped(enc_group, "encoder", "reducer"):
            if error:
                yield red_group, Prepared(None, None, error)
                continue
            red = red_group[0].resolved
            try:
                reduction = pipeline.reduce_items(red, encoding, ctx)
            except Exception as exc:
                msg = f"reducer {red.reducer.name}: {one_line(exc)}"
                log(msg)
                yield red_group, Prepared(None, None, msg)
                continue
            yield red_group, Prepared(reduction, encoding)
        encoding = None  # release before the next encoder's vectors arrive


def train_planned(run: PlannedRun, data, prep: Prepared,
                  callbacks: RunCallbacks | None = None) -> tuple[Row, ValidPredictions | None]:
    """Train one planned run; never raises for a failure of the run itself (returns a failed row)."""
    if prep.error:
        return Row.failed(run.resolved, data.dataset_id, prep.error), None
    finished = pipeline.finish(run.resolved, data, prep.reduction, prep.encoding, callbacks)
    return finished.row, finished.valid
