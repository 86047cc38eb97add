"""The architecture's numbers for one checkout: where components are constructed, import circles in the
core, the biggest modules, and how many lines a new plugin author reads. Compare two commits with

    python benchmarks/architecture_counts.py /path/to/old/checkout
    python benchmarks/architecture_counts.py .

Reads the source only (the walkers of tests/test_architecture.py), so any commit can be measured.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mmbench import MOVED  # noqa: E402
from test_architecture import (SOURCES, construction_sites, import_circles, import_graph, names_in_core,  # noqa: E402
                               probes, switches_and_param_probes)

#: what the docs send a new plugin author to, first to last (those that exist in the checkout)
AUTHOR_READS = ("docs/architecture.md", "docs/plugins.md", "mmbench/contract/components.py", "mmbench/contract/hookspecs.py",
                "mmbench/components.py", "mmbench/hookspecs.py")  # the last two: their paths before the core moved


#: the core's layers, low to high: a module may import its own layer and those below. A module is placed by
#: its package (mmbench.run.pipeline -> run) or, in a flat checkout, by the package it moved to
#: (``mmbench.MOVED``: mmbench.pipeline -> run), so one table measures the tree before and after the move.
LAYERS = {
    0: {"errors", "files", "output"},
    1: {"contract", "data", "plugin"},
    2: {"run"},
    3: {"report", "challenge", "leaderboard", "sweep", "tuning", "subsets"},  # subsets: coldwarm's old name
    4: {"commands", "cli", "scaffold", "bench", "__main__"},  # bench: the `mmbench bench` commands, parsers included
}
#: names of built-in components; generic words that are also ordinary strings ("text", "none", "random")
#: are left out, so the count errs low
BUILT_IN_NAMES = {"clip", "openclip", "precomputed", "pca", "learned", "rq", "vq", "microlens_1m", "microlens_1m_synth",
                  "attention_dnn", "din", "dcn", "transformer_dcn", "qin", "mlflow"}
#: calls that train a model or make its row: a module making them puts a run together
ORCHESTRATING = {"build_and_fit", "train_model", "make_row"}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "mmbench" or len(parts) < 2:
        return None
    package = MOVED.get(f"mmbench.{parts[1]}", module).split(".")[1]
    return next((k for k, names in LAYERS.items() if package in names), None)


def back_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a lower layer into a higher one."""
    out = []
    for name, deps in sorted(graph.items()):
        low = layer_of(name)
        for dep in sorted(deps):
            high = layer_of(dep)
            if low is not None and high is not None and high > low:
                out.append(f"{name} -> {dep}")
    return out


def calls_in(root: Path, names: set[str]) -> dict[str, int]:
    """Modules of mmbench/ calling a function or method of one of ``names``, other than the module that
    defines it (its own helpers are not another orchestrator)."""
    found: dict[str, int] = {}
    for path in sorted((root / "mmbench").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in names and name not in defined:
                    key = str(path.relative_to(root))
                    found[key] = found.get(key, 0) + 1
    return found


def ray_executors(root: Path) -> list[str]:
    """Functions of mmbench/ that hand work to Ray tasks (``ray.remote``) and collect them."""
    out = []
    for path in sorted((root / "mmbench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(n, ast.Attribute) and n.attr == "remote" and ast.unparse(n.value).split(".")[-1] == "ray"
                    for n in ast.walk(node)):
                out.append(f"{path.relative_to(root)}:{node.name}")
    return out


def plugin_names_in_core(root: Path) -> list[str]:
    """String constants in mmbench/ (docstrings aside) that are a built-in component's name."""
    return names_in_core(root, BUILT_IN_NAMES)


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

    orchestrators = calls_in(root, ORCHESTRATING)
    print(f"orchestrators (modules that train a model or make its row: {', '.join(sorted(ORCHESTRATING))}): "
          f"{len(orchestrators)}")
    for path, n in orchestrators.items():
        print(f"  {path}: {n} call(s)")

    executors = ray_executors(root)
    print(f"Ray executors (functions that submit ray.remote tasks): {len(executors)}")
    for where in executors:
        print(f"  {where}")

    switched = switches_and_param_probes(root)
    print(f"type switches on a component base / probes of its params (mmbench, plugins, model_zoo): "
          f"{sum(map(len, switched.values()))}")
    for path, hits in switched.items():
        for hit in hits:
            print(f"  {path}:{hit}")

    named = plugin_names_in_core(root)
    print(f"built-in plugin names as string constants in mmbench/: {len(named)}")
    for hit in named:
        print(f"  {hit}")

    flat = sorted(p.name for p in (root / "mmbench").glob("*.py") if p.name != "__init__.py")
    print(f"modules at the core root (mmbench/*.py): {len(flat)}: {' '.join(flat)}")

    graph = import_graph(root)
    arrows = back_arrows(graph)
    print(f"imports running back up the layers (benchmarks/architecture_counts.py LAYERS): {len(arrows)}")
    for arrow in arrows:
        print(f"  {arrow}")

    circles = import_circles(graph)
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
