"""``mmbench sweep SWEEP.yaml``: every encoder x reducer x model x grid x seed, resumable."""
from __future__ import annotations

from ..run.callbacks import CallbackList, EventCallbacks, PluginHooks
from ..contract.components import RunContext
from ..contract.registry import default_registry
from . import add_leaderboard_dir, add_set, events_of
from .run import output_dir

#: sweep.plan.EXECUTORS (tests/test_cli_startup.py keeps them equal): the sweep package imports torch
EXECUTORS = ("local", "ray")


def cmd_sweep(args) -> int:
    from ..sweep import run_sweep
    from ..sweep.plan import load

    events = events_of(args)
    directory = output_dir(args.leaderboard_dir)
    spec = load(args.config, args.set)
    if args.address and not args.executor:
        args.executor = "ray"
    registry = default_registry()
    report = run_sweep(
        spec, registry, directory, ctx=RunContext(events=events), executor=args.executor,
        address=args.address, dry_run=args.dry_run, retry_failed=args.retry_failed,
        callbacks=CallbackList(EventCallbacks(events, labelled=True), PluginHooks(registry)),
        log=events.result if args.dry_run else events.message,  # a dry run's plan is its result
    )
    if args.dry_run:
        events.result(f"dry run: {report.planned} combinations, {report.skipped} already recorded; nothing ran",
                      planned=report.planned, skipped=report.skipped)
        return 0
    lines = [f"sweep done: {report.planned} combinations; {report.skipped} were already recorded, "
             f"{report.ran} ran now ({report.failed} failed)"]
    for dataset in report.datasets:
        md = directory / f"{dataset}.md"
        if md.exists():
            lines.append(f"leaderboard: {md} and {md.with_suffix('.png').name}")
    if report.pending:
        lines.append(f"{len(report.pending)} finished row(s) could not be recorded; they are saved in "
                     f"{report.pending[0].parent}: add each with `mmbench leaderboard add FILE`")
    events.result("\n".join(lines), planned=report.planned, skipped=report.skipped, ran=report.ran,
                  failed=report.failed, rows=[r.as_dict() for r in report.rows],
                  pending=[str(p) for p in report.pending])
    return 1 if report.failed or report.pending else 0


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run every combination of a sweep file (resumable)")
    p.add_argument("config", help="sweep YAML: a run config plus a 'sweep:' section of lists")
    add_set(p, "override a value, e.g. --set train.epochs=1 or --set sweep.seeds=[1]")
    p.add_argument("--dry-run", action="store_true", help="print the plan (what is cached, what would run)")
    p.add_argument("--executor", choices=EXECUTORS, help="override the file's executor (default local)")
    p.add_argument("--address", help="Ray cluster address (implies --executor ray), e.g. auto or ray://host:10001")
    p.add_argument("--retry-failed", action="store_true", help="run failed combinations again (their row is replaced)")
    add_leaderboard_dir(p)
    p.set_defaults(func=cmd_sweep)
