"""``mmbench sweep SWEEP.yaml``: every encoder x reducer x model x grid x seed, resumable."""
from __future__ import annotations

from rich.console import Console

from ..callbacks import PluginHooks
from ..components import RunContext
from ..registry import default_registry
from . import add_leaderboard_dir, add_set
from .run import output_dir

#: sweep.plan.EXECUTORS (tests/test_cli_startup.py keeps them equal): the sweep package imports torch
EXECUTORS = ("local", "ray")


def cmd_sweep(args) -> int:
    from ..sweep import run_sweep
    from ..sweep.plan import load

    console = Console(highlight=False)
    directory = output_dir(args.leaderboard_dir)
    spec = load(args.config, args.set)
    if args.address and not args.executor:
        args.executor = "ray"
    registry = default_registry()
    report = run_sweep(
        spec, registry, directory, ctx=RunContext(), executor=args.executor,
        address=args.address, dry_run=args.dry_run, retry_failed=args.retry_failed, callbacks=PluginHooks(registry),
        log=lambda msg: console.print(msg, soft_wrap=True),
    )
    if args.dry_run:
        console.print(f"dry run: {report.planned} combinations, {report.skipped} already recorded; nothing ran")
        return 0
    console.print(f"sweep done: {report.planned} combinations; {report.skipped} were already recorded, "
                  f"{report.ran} ran now ({report.failed} failed)")
    for dataset in report.datasets:
        md = directory / f"{dataset}.md"
        if md.exists():
            console.print(f"leaderboard: {md} and {md.with_suffix('.png').name}")
    return 1 if report.failed else 0


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
