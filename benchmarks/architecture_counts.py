"""The architecture's numbers for one checkout: where components are constructed, import circles in the
core, the biggest modules, and how many lines a new plugin author reads. Compare two commits with

    python benchmarks/architecture_counts.py /path/to/old/checkout
    python benchmarks/architecture_counts.py .

Reads the source only (the walkers of tests/test_architecture.py), so any commit can be measured.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_architecture import SOURCES, construction_sites, import_circles, import_graph, probes  # noqa: E402

#: what the docs send a new plugin author to, first to last (those that exist in the checkout)
AUTHOR_READS = ("docs/architecture.md", "docs/plugins.md", "mmbench/components.py", "mmbench/hookspecs.py")


def lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, nargs="?", default=Path("."), help="a checkout of mmbench")
    p.add_argument("--top", type=int, default=8, help="how many of the biggest modules to list")
    args = p.parse_args()
    root = args.root.resolve()

    sites = construction_sites(root)
    print(f"component construction sites: {sum(map(len, sites.values()))} in {len(sites)} file(s)")
    for path, linenos in sites.items():
        print(f"  {path}: lines {', '.join(map(str, linenos))}")

    probed = probes(root)
    print(f"getattr/hasattr probes of a component class in mmbench/: {sum(map(len, probed.values()))}")
    for path, linenos in probed.items():
        print(f"  {path}: lines {', '.join(map(str, linenos))}")

    circles = import_circles(import_graph(root))
    print(f"import circles in mmbench/: {len(circles)}")
    for group in circles:
        print("  " + " <-> ".join(group))

    modules = sorted(((lines(p), str(p.relative_to(root))) for top in SOURCES for p in (root / top).rglob("*.py")
                      if "build" not in p.relative_to(root).parts), reverse=True)
    print(f"biggest modules (lines), of {len(modules)}:")
    for n, path in modules[: args.top]:
        print(f"  {n:5d} {path}")

    reads = [(path, lines(root / path)) for path in AUTHOR_READS if (root / path).exists()]
    print(f"a plugin author reads {sum(n for _, n in reads)} lines: " + ", ".join(f"{p} ({n})" for p, n in reads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
