"""``mmbench cache list|clear``: see and reclaim the embedding cache, all of it or by dataset / encoder /
reducer / stage."""
from __future__ import annotations

from rich.table import Table

from ..files import paths
from ..output.console import make_console
from ..files.cache import FACTS, entry_facts, matches
from ..contract.components import RunContext


def _filters(args) -> dict:
    return {k: getattr(args, k) for k in FACTS if getattr(args, k, None)}


def cmd_list(args) -> int:
    paths.home_dir()
    cache = RunContext().cache
    entries = cache.entries()
    facts = entry_facts(entries)
    where = _filters(args)
    entries = [e for e in entries if matches(facts[e.key], where)]
    table = Table(title="mmbench cache")
    for col in ("key", "stage", "dataset", "encoder", "reducer", "shape", "size MiB", "created"):
        table.add_column(col)
    for e in entries:
        f = facts[e.key]
        table.add_row(e.key, f["stage"] or "", f["dataset"] or "?", f["encoder"] or "?", f["reducer"] or "",
                      "x".join(map(str, e.meta.get("shape", []))), f"{e.size_bytes / 2**20:.1f}", e.meta.get("created", ""))
    make_console().print(table)
    print(f"{len(entries)} entries, {sum(e.size_bytes for e in entries) / 2**20:.1f} MiB in {cache.root}"
          + ("; '?' = not recorded (an entry made before mmbench recorded it): only a plain `cache clear` or "
             "another filter removes it" if any(None in (facts[e.key]["dataset"], facts[e.key]["encoder"])
                                                 for e in entries) else ""))
    return 0


def cmd_clear(args) -> int:
    paths.home_dir()
    where = _filters(args)
    count, reclaimed = RunContext().cache.clear(**where)
    which = " ".join(f"--{k} {v}" for k, v in where.items())
    print(f"cache cleared{' of ' + which if which else ''}: {count} entries, {reclaimed / 2**20:.1f} MiB reclaimed")
    return 0


def _add_filters(p) -> None:
    p.add_argument("--dataset", help="only entries of this dataset id (a glob: 'microlens_1m_synth-*')")
    p.add_argument("--encoder", help="only entries of this encoder (item vectors and their reductions)")
    p.add_argument("--reducer", help="only reductions by this reducer")
    p.add_argument("--stage", choices=["encode", "reduce"], help="only item vectors or only reductions")


def add_parser(sub) -> None:
    p = sub.add_parser("cache", help="inspect or clear the embedding cache")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    csub.required = True
    lp = csub.add_parser("list", help="list cached item vectors and reductions (filters as for clear)")
    _add_filters(lp)
    lp.set_defaults(func=cmd_list)
    cp = csub.add_parser("clear", help="remove cache entries: all, or those matching every filter given")
    _add_filters(cp)
    cp.set_defaults(func=cmd_clear)
