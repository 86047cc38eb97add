"""``mmbench plugins [--json]``: every registered component with its distribution and version."""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from ..params import describe_params
from ..registry import KINDS, default_registry


def cmd_plugins(args) -> int:
    registry = default_registry()
    if args.json:
        rows = []
        for kind in KINDS:
            for name in registry.names(kind):
                comp = registry.components[kind][name]
                rows.append({"kind": kind, "name": name, "distribution": comp.distribution,
                             "version": comp.version, "params": describe_params(comp.params_cls)})
        print(json.dumps(rows, indent=2, default=str))
        return 0
    console = Console(highlight=False)
    table = Table(title="mmbench plugins")
    for col in ("kind", "name", "distribution", "version"):
        table.add_column(col)
    for row in registry.rows():
        table.add_row(row["kind"], row["name"], row["distribution"], row["version"])
    console.print(table)
    for failure in registry.failures:
        console.print(f"[yellow]skipped plugin {failure.plugin} ({failure.distribution}):[/] {failure.error}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plugins", help="list registered encoders, reducers, models and datasets")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_plugins)
