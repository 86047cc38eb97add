"""The shape of the code, checked: mmbench's modules import each other without circles, the core never
imports a concrete plugin, and components are constructed in one place (the registry).

Imports are read from the source (every ``import`` statement, also those inside functions: a lazy
import is still a dependency), so the check needs nothing installed and runs in well under a second.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "mmbench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in CORE.rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module (of ``modules``, or any other by its dotted name) that ``path`` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:  # `from pkg import module` depends on the module itself
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = core_modules()
    return {name: {m for m in imports_of(path, modules) if m in modules and m != name}
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_core_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 40 and "mmbench.pipeline" in graph["mmbench.commands.run"]  # the walk sees the code
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_never_imports_a_concrete_plugin():
    modules = core_modules()
    offenders = {name: sorted(m for m in imports_of(path, modules) if m.split(".")[0] in ("mmbench_plugins", "mmbench_zoo"))
                 for name, path in modules.items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_components_are_constructed_by_the_registry_only():
    """A component's class is called (``x.factory(...)``, or handed to a call that runs it) in one
    place: ``Configured.create`` in registry.py. Every caller goes through ``create``."""
    sites = {}
    for root in (CORE, ROOT / "plugins", ROOT / "model_zoo"):
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or (isinstance(node.func, ast.Name)
                                                       and node.func.id in ("issubclass", "isinstance", "hasattr")):
                    continue  # asking what a class is does not construct it
                called = [node.func, *node.args]
                if any(isinstance(x, ast.Attribute) and x.attr == "factory" for x in called):
                    sites.setdefault(str(path.relative_to(ROOT)), []).append(node.lineno)
    assert list(sites) == ["mmbench/registry.py"] and len(sites["mmbench/registry.py"]) == 1, sites


def test_the_sweep_executors_depend_on_the_stages_and_nothing_depends_back():
    graph = import_graph()
    assert "mmbench.sweep.stages" in graph["mmbench.sweep.executors"]
    assert not any("mmbench.sweep.executors" in deps for name, deps in graph.items() if name != "mmbench.sweep")
    inside = {name: deps for name, deps in graph.items() if name.startswith("mmbench.sweep.")}
    assert not any("mmbench.sweep" in deps for deps in inside.values())  # its parts never import their package


def test_every_package_and_its_data_is_installed():
    """setup.cfg lists packages by hand: a folder missing there is absent from a non-editable install (with
    its package data, e.g. the published results of mmbench/leaderboard/published.yaml)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    folders = {"mmbench": CORE, "mmbench_plugins": ROOT / "plugins", "mmbench_zoo": ROOT / "model_zoo"}
    found = {".".join([top, *init.parent.relative_to(folder).parts])
             for top, folder in folders.items() for init in folder.rglob("__init__.py")
             if "mmbench-example-plugin" not in init.parts and "templates" not in init.parts}
    assert found - listed == set()
    assert "*.yaml" in cfg["options.package_data"]["*"] and (CORE / "leaderboard" / "published.yaml").is_file()
