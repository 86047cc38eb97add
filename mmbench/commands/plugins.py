"""``mmbench plugins [--json] [--check]``: every registered component with its distribution and version."""
from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..params import describe_params
from ..registry import KINDS, default_registry


def warn_failures(registry, console: Console) -> None:
    """One line per plugin that failed to load; the others keep working."""
    for failure in registry.failures:
        console.print(f"[yellow]warning:[/] {escape(failure.line())}", soft_wrap=True, highlight=False)


def cmd_check(registry, console: Console) -> int:
    from ..health import check_plugins
    from ..hookspecs import API_VERSION

    health = check_plugins(registry)
    table = Table(title=f"mmbench plugin health (plugin API {API_VERSION})")
    for col in ("plugin", "distribution", "version", "API", "components", "status"):
        table.add_column(col)
    for h in health:
        api = "-" if h.api_version is None else str(h.api_version)
        status = "[green]ok[/]" if h.ok else "[red]broken[/]"
        table.add_row(h.plugin, h.distribution, h.version, api, ", ".join(h.components), status)
    console.print(table)
    broken = [h for h in health if not h.ok]
    for h in broken:
        console.print(h.line(), soft_wrap=True, markup=False)
    console.print(f"{len(health) - len(broken)} of {len(health)} plugins healthy", markup=False)
    return 1 if broken else 0


def cmd_plugins(args) -> int:
    registry = default_registry()
    console = Console(highlight=False)
    if args.check:
        return cmd_check(registry, console)
    warn_failures(registry, Console(stderr=True, highlight=False))
    if args.json:
        rows = []
        for kind in KINDS:
            for name in registry.names(kind):
                comp = registry.components[kind][name]
                rows.append({"kind": kind, "name": name, "distribution": comp.distribution,
                             "version": comp.version, "params": describe_params(comp.params_cls)})
        print(json.dumps(rows, indent=2, default=str))
        return 0
    table = Table(title="mmbench plugins")
    for col in ("kind", "name", "distribution", "version"):
        table.add_column(col)
    for row in registry.rows():
        table.add_row(row["kind"], row["name"], row["distribution"], row["version"])
    console.print(table)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plugins", help="list registered encoders, reducers, models and datasets")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--check", action="store_true",
                   help="import every plugin, report its health and API version; exit 1 if any is broken")
    p.set_defaults(func=cmd_plugins)
