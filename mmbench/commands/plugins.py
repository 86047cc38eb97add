"""``mmbench plugins [PATTERN] [--kind KIND] [--json] [--check]``: registered components with their
distribution and version; PATTERN (a glob, or a substring) filters by name or ``kind:name`` and shows each
match's parameters (mmbench/report/component_info.py, as ``mmbench show``)."""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from ..report.component_info import render
from ..output.console import labelled, make_console, styled

from ..contract.params import describe_params
from ..errors import MMBenchError
from ..contract.registry import KINDS, default_registry


def warn_failures(registry, console: Console) -> None:
    """One line per plugin that failed to load; the others keep working."""
    for failure in registry.failures:
        console.print(labelled("warning", failure.line()), soft_wrap=True)


def cmd_check(registry, console: Console) -> int:
    from ..report.health import check_plugins
    from ..contract.components import API_VERSION

    health = check_plugins(registry)
    table = Table(title=f"mmbench plugin health (plugin API {API_VERSION})")
    for col in ("plugin", "distribution", "version", "API", "components", "status"):
        table.add_column(col)
    for h in health:
        api = "-" if h.api_version is None else str(h.api_version)
        status = styled("ok", "green") if h.ok else styled("broken", "red")
        cells = (str(v) for v in (h.plugin, h.distribution, h.version, api, ", ".join(h.components)))
        table.add_row(*cells, status)
    console.print(table)
    broken = [h for h in health if not h.ok]
    for h in broken:
        console.print(h.line(), soft_wrap=True)
    console.print(f"{len(health) - len(broken)} of {len(health)} plugins healthy")
    return 1 if broken else 0


def cmd_plugins(args) -> int:
    registry = default_registry()
    console = make_console()
    if args.check:
        return cmd_check(registry, console)
    warn_failures(registry, make_console(stderr=True))
    found = registry.list(args.kind, args.pattern)
    if args.pattern and not found:
        raise MMBenchError(f"no {args.kind or 'component'} matches {args.pattern!r}; `mmbench plugins` lists them all")
    if args.json:
        rows = [{"kind": c.kind, "name": c.name, "distribution": c.distribution, "version": c.version,
                 "description": c.metadata.get("description", ""), "params": describe_params(c.params_cls)}
                for c in found]
        print(json.dumps(rows, indent=2, default=str))
        return 0
    table = Table(title="mmbench plugins" + (f" matching {args.pattern!r}" if args.pattern else ""))
    for col in ("kind", "name", "distribution", "version", "description"):
        table.add_column(col)
    for c in found:
        table.add_row(*(str(v) for v in (c.kind, c.name, c.distribution, c.version,
                                                 c.metadata.get("description", ""))))
    console.print(table)
    if args.pattern:  # a narrowed list: what each component takes, as `mmbench show` prints it
        for c in found:
            print("\n" + "\n".join(render(c)))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plugins", help="list registered encoders, reducers, models and datasets")
    p.add_argument("pattern", nargs="?", help="only names matching this glob or substring, e.g. 'din*' or clip, "
                                              "each shown with its parameters (as `mmbench show` prints them)")
    p.add_argument("--kind", choices=KINDS, help="only this kind of component")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--check", action="store_true",
                   help="import every plugin, report its health and API version; exit 1 if any is broken")
    p.set_defaults(func=cmd_plugins)
