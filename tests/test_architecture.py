"""The shape of the code, checked: mmbench's modules import each other without circles, the core never
imports a concrete plugin, and components are constructed in one place (the registry).

Imports are read from the source (every ``import`` statement, also those inside functions: a lazy
import is still a dependency), so the check needs nothing installed and runs in well under a second.
The helpers take a checkout's root, so ``benchmarks/architecture_counts.py`` measures any commit with them.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("mmbench", "plugins", "model_zoo")  # the core, the built-in plugins, the model zoo
#: calls that ask what a class is or read its defaults: handing them a component class constructs nothing
READS = {"issubclass", "isinstance", "hasattr", "getattr", "callable", "model_defaults"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in (root / "mmbench").rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path], root: Path = ROOT) -> set[str]:
    """Every module (of ``modules``, or any other by its dotted name) that ``path`` imports."""
    name = module_name(path, root)
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


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = core_modules(root)
    return {name: {m for m in imports_of(path, modules, root) if m in modules and m != name}
            for name, path in modules.items()}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other (strongly connected, 2 or more), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:  # Tarjan; mmbench's graph is far too shallow for the recursion limit
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def construction_sites(root: Path = ROOT) -> dict[str, list[int]]:
    """Where a component's class is called (``x.factory(...)``) or handed to a call that runs it, by file."""
    sites: dict[str, list[int]] = {}
    for top in SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if callee in READS:
                    continue
                if any(isinstance(x, ast.Attribute) and x.attr == "factory" for x in [node.func, *node.args]):
                    sites.setdefault(str(path.relative_to(root)), []).append(node.lineno)
    return {path: sorted(linenos) for path, linenos in sites.items()}


def probes(root: Path = ROOT) -> dict[str, list[int]]:
    """Where the core asks a component for a member it may lack (``getattr``/``hasattr`` on ``x.factory``
    or on an instance made from it): a rule of the contract that lives in the caller, not in a base class."""
    found: dict[str, list[int]] = {}
    for path in sorted((root / "mmbench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                    and node.args and "factory" in ast.unparse(node.args[0])):
                found.setdefault(str(path.relative_to(root)), []).append(node.lineno)
    return {path: sorted(linenos) for path, linenos in found.items()}


def test_the_core_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 40 and "mmbench.run.pipeline" in graph["mmbench.commands.run"]  # the walk sees the code
    assert import_circles(graph) == []


def test_the_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e", "a"}, "e": {"d"}, "f": set()}
    assert import_circles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_the_core_never_imports_a_concrete_plugin():
    modules = core_modules()
    offenders = {name: sorted(m for m in imports_of(path, modules) if m.split(".")[0] in ("mmbench_plugins", "mmbench_zoo"))
                 for name, path in modules.items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_components_are_constructed_by_the_registry_only():
    """A component's class is called in one place: ``Configured.create`` in registry.py. Every caller
    (run, sweep, bench, export, predict) goes through ``create``."""
    sites = construction_sites()
    assert list(sites) == ["mmbench/contract/registry.py"] and len(sites["mmbench/contract/registry.py"]) == 1, sites


def test_the_construction_finder_sees_a_direct_call(tmp_path):
    (tmp_path / "mmbench").mkdir()
    (tmp_path / "mmbench" / "a.py").write_text("def f(comp, p):\n    getattr(comp.factory, 'X', 1)\n"
                                               "    return comp.factory(p).load()\n")
    assert construction_sites(tmp_path) == {"mmbench/a.py": [3]}


def test_the_sweep_executors_depend_on_the_stages_and_nothing_depends_back():
    graph = import_graph()
    assert "mmbench.sweep.stages" in graph["mmbench.sweep.executors"]
    assert not any("mmbench.sweep.executors" in deps for name, deps in graph.items() if name != "mmbench.sweep")
    inside = {name: deps for name, deps in graph.items() if name.startswith("mmbench.sweep.")}
    assert not any("mmbench.sweep" in deps for deps in inside.values())  # its parts never import their package


def test_the_core_probes_no_component_for_optional_members():
    """Every optional member has its default on the kind's base class (mmbench/contract/components.py)."""
    assert probes() == {}


#: the component bases: asking which one a component subclasses is a switch the contract should answer
BASE_CLASSES = {"Dataset", "Encoder", "Reducer", "FixedReducer", "TrainableReducer", "Model"}


def switches_and_param_probes(root: Path = ROOT) -> dict[str, list[str]]:
    """In the core, the built-in plugins and the zoo: ``isinstance``/``issubclass`` against a component
    base (e.g. "is this reducer trainable?", which ``Reducer.trains`` answers), and ``getattr``/``hasattr``
    of a named member on a component's params (e.g. ``getattr(params, "dim", None)``, which
    ``Reducer.output_width()`` answers)."""
    found: dict[str, list[str]] = {}
    for top in SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 2):
                    continue
                target, what = node.args[0], node.args[1]
                switch = (node.func.id in ("isinstance", "issubclass")
                          and any(isinstance(n, (ast.Name, ast.Attribute)) and getattr(n, "id", getattr(n, "attr", ""))
                                  in BASE_CLASSES for n in ast.walk(what)))
                probe = (node.func.id in ("getattr", "hasattr") and isinstance(what, ast.Constant)
                         and not str(what.value).startswith("__") and "params" in ast.unparse(target))
                if switch or probe:
                    found.setdefault(str(path.relative_to(root)), []).append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_type_switch_on_a_component_base_and_no_probe_of_its_params():
    assert switches_and_param_probes() == {}


def test_the_switch_finder_sees_both_kinds(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "a.py").write_text(
        "def f(red, TrainableReducer):\n    if isinstance(red, TrainableReducer):\n        return 1\n"
        "    return getattr(red.params, 'dim', None)\n")
    assert switches_and_param_probes(tmp_path) == {
        "plugins/a.py": ["2: isinstance(red, TrainableReducer)", "4: getattr(red.params, 'dim', None)"]}


def test_every_package_and_its_data_is_installed():
    """setup.cfg lists packages by hand: a folder missing there is absent from a non-editable install (with
    its package data, e.g. the published results of mmbench/leaderboard/published.yaml)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    folders = {"mmbench": ROOT / "mmbench", "mmbench_plugins": ROOT / "plugins", "mmbench_zoo": ROOT / "model_zoo"}
    found = {".".join([top, *init.parent.relative_to(folder).parts])
             for top, folder in folders.items() for init in folder.rglob("__init__.py")
             if "mmbench-example-plugin" not in init.parts and "templates" not in init.parts}
    assert found - listed == set()
    assert "*.yaml" in cfg["options.package_data"]["*"] and (ROOT / "mmbench" / "leaderboard" / "published.yaml").is_file()


#: rich constructors that parse markup in the strings they are given, unless told not to
MARKUP_PARSERS = {"Console", "TextColumn", "escape", "from_markup", "render_markup"}


def markup_sites(root: Path = ROOT) -> dict[str, list[int]]:
    """Where a file outside mmbench/output/console.py builds a rich Console or markup column, or escapes
    markup (a sign that some text is still parsed as markup): {file: [lines]}."""
    out: dict[str, list[int]] = {}
    for folder in SOURCES:
        for path in (root / folder).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if rel == "mmbench/output/console.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = None
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if isinstance(f, ast.Attribute) and name == "escape":
                        name = None  # html.escape: another language's escaping
                if name in MARKUP_PARSERS:
                    out.setdefault(rel, []).append(node.lineno)
    return out


def test_only_the_console_module_prints_through_rich_and_nothing_is_read_as_markup():
    """One escaping rule (mmbench/output/console.py): consoles and progress columns take text literally, so a
    path or name with brackets ("lb[/x]") is printed as it is, wherever it is printed."""
    assert markup_sites() == {}


def test_the_markup_finder_sees_a_console(tmp_path):
    (tmp_path / "mmbench").mkdir()
    (tmp_path / "mmbench" / "a.py").write_text("from rich.console import Console\n\nc = Console()\n")
    for folder in SOURCES[1:]:
        (tmp_path / folder).mkdir()
    assert markup_sites(tmp_path) == {"mmbench/a.py": [3]}


def hand_written_range_checks(root: Path = ROOT) -> dict[str, list[str]]:
    """``if self.x < 0: raise ...`` (or ``min(self.a, self.b) < 1``) in the built-in plugins and the zoo:
    a range written by hand beside the declared one (``bounded``/``declare_bounds``, checked by
    ``check_bounds``), so that the two can drift apart."""
    ordering = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
    found: dict[str, list[str]] = {}
    for top in ("plugins", "model_zoo"):
        for path in sorted((root / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.If) and any(isinstance(n, ast.Raise) for n in node.body)):
                    continue
                for c in ast.walk(node.test):
                    if (isinstance(c, ast.Compare) and all(isinstance(o, ordering) for o in c.ops)
                            and all(isinstance(x, ast.Constant) for x in c.comparators)
                            and ast.unparse(c.left).lstrip("min(").startswith("self.")):
                        found.setdefault(str(path.relative_to(root)), []).append(f"{node.lineno}: {ast.unparse(c)}")
    return found


def test_parameter_ranges_are_declared_once():
    assert hand_written_range_checks() == {}


def test_the_range_check_finder_sees_one(tmp_path):
    (tmp_path / "model_zoo").mkdir()
    (tmp_path / "model_zoo" / "m.py").write_text(
        "class P:\n    def __post_init__(self):\n        if min(self.a, self.b) < 1 or self.c <= 0:\n"
        "            raise ValueError('x')\n        if self.a % self.b:\n            raise ValueError('y')\n")
    assert hand_written_range_checks(tmp_path) == {"model_zoo/m.py": ["3: min(self.a, self.b) < 1", "3: self.c <= 0"]}


def test_the_core_root_holds_only_the_entry_points_and_each_stage_has_its_package():
    """mmbench/ is laid out by stage (docs/architecture.md): the root keeps the command line, the plugin
    import surface and the errors; every other module lives in the package of its stage or route."""
    root_modules = sorted(p.name for p in (ROOT / "mmbench").glob("*.py"))
    assert root_modules == ["__init__.py", "cli.py", "errors.py", "plugin.py"]
    for stage in ("contract", "run", "output", "report", "challenge", "files", "data", "sweep", "tuning", "leaderboard"):
        assert (ROOT / "mmbench" / stage / "__init__.py").is_file(), stage


def test_nothing_here_imports_a_module_by_its_old_flat_path():
    """The old paths (mmbench.components, mmbench.pipeline, ...) stay importable for third-party plugins,
    with a DeprecationWarning; nothing in this repository uses them."""
    import mmbench

    modules = {**core_modules(), **dict.fromkeys(mmbench.MOVED)}  # `from mmbench import pipeline` counts too
    users = {}
    for top in (*SOURCES, "tests", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "build" in path.relative_to(ROOT).parts:
                continue
            old = sorted(m for m in imports_of(path, modules) if m in mmbench.MOVED)
            if old:
                users[str(path.relative_to(ROOT))] = old
    assert users == {}


def test_an_old_path_imports_the_moved_module_itself_with_a_warning():
    import subprocess
    import sys

    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "try:\n    import mmbench.components\nexcept DeprecationWarning as w:\n    print(w)\n"
            "warnings.simplefilter('ignore')\n"
            "from mmbench.components import Encoder\nimport mmbench.contract.components as new\n"
            "print(Encoder is new.Encoder)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [
        "mmbench.components moved to mmbench.contract.components; plugin authors import mmbench.plugin", "True"]


#: built-in names that are also ordinary words, which a string constant may hold for another reason
ORDINARY_WORDS = {"text", "none", "random"}


def names_in_core(root: Path, names: set[str]) -> list[str]:
    """String constants in mmbench/ (docstrings aside) equal to one of ``names``."""
    out = []
    for path in sorted((root / "mmbench").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docs:
                out.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return out


def test_the_core_names_no_built_in_plugin():
    from mmbench.contract.registry import KINDS, default_registry

    registry = default_registry()
    built_in = {name for kind in KINDS for name in registry.names(kind)
                if registry.get(kind, name).distribution == "mmbench"}
    assert {"din", "qin", "transformer_dcn", "pca", "clip", "mlflow", "microlens_1m_synth"} <= built_in
    assert names_in_core(ROOT, built_in - ORDINARY_WORDS) == []


def test_the_name_finder_sees_a_constant_but_not_a_docstring(tmp_path):
    (tmp_path / "mmbench").mkdir()
    (tmp_path / "mmbench" / "m.py").write_text('"""din is described here."""\nDEFAULT = "din"\nHELP = "e.g. din"\n')
    assert names_in_core(tmp_path, {"din"}) == ["mmbench/m.py:2: 'din'"]
