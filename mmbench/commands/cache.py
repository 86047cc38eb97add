"""``mmbench cache list|clear``: see and reclaim the embedding cache."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .. import paths
from ..components import RunContext


def cmd_list(args) -> int:
    paths.home_dir()
    cache = RunContext().cache
    entries = cache.entries()
    table = Table(title=f"mmbench cache ({cache.root})")
    for col in ("key", "stage", "component", "shape", "size MiB", "created"):
        table.add_column(col)
    for e in entries:
        inputs = e.meta.get("inputs", {})
        table.add_row(e.key, str(inputs.get("stage", "")), str(inputs.get("encoder") or inputs.get("reducer") or ""),
                      "x".join(map(str, e.meta.get("shape", []))), f"{e.size_bytes / 2**20:.1f}", e.meta.get("created", ""))
    Console(highlight=False).print(table)
    print(f"{len(entries)} entries, {sum(e.size_bytes for e in entries) / 2**20:.1f} MiB")
    return 0


def cmd_clear(args) -> int:
    paths.home_dir()
    reclaimed = RunContext().cache.clear()
    print(f"cache cleared: {reclaimed / 2**20:.1f} MiB reclaimed")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("cache", help="inspect or clear the embedding cache")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    csub.required = True
    csub.add_parser("list", help="list cached item vectors and reductions").set_defaults(func=cmd_list)
    csub.add_parser("clear", help="remove every cache entry").set_defaults(func=cmd_clear)
