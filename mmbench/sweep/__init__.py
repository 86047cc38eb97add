"""Sweeps: every encoder x reducer x model x grid point x seed, each run recorded exactly once.

    plan        the sweep file, the planned runs, the dry-run plan
    stages      shared encoding and reduction, one model per planned run (failures become rows)
    executors   local or Ray; both take the stages and hand rows back to ``run_sweep``'s recorder

Resuming is by config hash: a run whose hash already has a row in the leaderboard CSV is skipped, so
a sweep killed at any moment (SIGKILL included) and started again runs only the rest. The CSV is only
ever replaced whole (temp file + rename, under a file lock), so a kill never leaves a damaged line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..run import pipeline
from ..run.callbacks import RunCallbacks
from ..contract.components import RunContext
from ..errors import ConfigError
from ..leaderboard import pending, store
from ..leaderboard.render import render
from ..contract.registry import Registry
from .executors import run_local, run_on_ray
from .plan import EXECUTORS, SweepSpec, describe_plan, expand, grouped
from .stages import prepared_stages


@dataclass
class SweepReport:
    planned: int = 0
    skipped: int = 0  # already recorded
    ran: int = 0
    failed: int = 0
    pending: list = field(default_factory=list)  # rows that finished but could not be written (saved files)
    datasets: list[str] = field(default_factory=list)
    rows: list = field(default_factory=list)  # the Rows recorded by this invocation


def run_sweep(
    spec: SweepSpec,
    registry: Registry,
    leaderboard_dir: str | Path,
    *,
    ctx: RunContext | None = None,
    executor: str | None = None,
    address: str | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    callbacks: RunCallbacks | None = None,
    log: Callable[[str], None] = print,
) -> SweepReport:
    directory = Path(leaderboard_dir)
    ctx = ctx or RunContext()
    callbacks = callbacks or RunCallbacks()
    executor = executor or spec.executor
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    runs = expand(spec, registry)
    report = SweepReport(planned=len(runs))
    for ds_group in grouped(runs, "dataset"):
        data = pipeline.load_data(ds_group[0].resolved.dataset, ctx)
        report.datasets.append(data.dataset_id)
        if not dry_run:
            store.check_targets(directory, data.dataset_id)
            callbacks.on_data_loaded(data)
        recorded = store.recorded_status(directory, data.dataset_id)
        todo = [r for r in ds_group if r.config_hash not in recorded
                or (retry_failed and recorded[r.config_hash] == "failed")]
        report.skipped += len(ds_group) - len(todo)
        if dry_run:
            describe_plan(todo, len(ds_group) - len(todo), data, ctx, log)
            continue

        def record(run, row, valid) -> None:
            recorded = pending.record_or_keep(directory, row, valid, once=True)
            written = recorded.written
            if recorded.pending:
                report.pending.append(recorded.pending)
                log(f"[{report.skipped + report.ran}/{report.planned}] {run.config_hash} {run.label}: "
                    + recorded.message())
            if written:
                report.rows.append(row)
                report.ran += 1
                report.failed += not row.ok
            callbacks.on_run_end(run.resolved, row, valid)
            if recorded.pending:
                return
            outcome = f"AUC {row.valid_auc:.4f}" if row.ok else f"FAILED: {row.error}"
            log(f"[{report.skipped + report.ran}/{report.planned}] {run.config_hash} {run.label}: {outcome}"
                + ("" if written else " (already recorded by another writer; kept that row)"))

        stages = prepared_stages(todo, data, ctx, log)
        if executor == "ray":
            run_on_ray(stages, data, spec.ray, address, record, callbacks,
                       on_epoch=lambda label, log: ctx.events.epoch(log, run=label))
        else:
            run_local(stages, data, record, callbacks)
        if todo and not report.pending:
            render(directory, data.dataset_id)
    return report
