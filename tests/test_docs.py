"""Every fenced code block of README.md and docs/*.md runs as written, or says why it cannot.

Each block is one test (``python -m pytest -q -k docs``). What a block gets is decided by its language
and by an optional marker, an HTML comment on the line before its fence (invisible on GitHub):

    <!-- docs-test: illustrative: REASON -->        not run, and REASON says why (network, GPU, the real
                                                     dataset, hours of CPU, a synopsis with placeholders)
    <!-- docs-test: run; set K=V K=V; others: REASON; shell; hash TEXT; cwd DIR -->

Runners, by language:

* ``bash``: needs a ``run`` marker. Every ``mmbench ...`` line runs in this process (``mmbench.cli.main``)
  with the marker's ``set`` overrides appended where the command takes ``--set`` (tiny data, one epoch),
  inside one working folder shared by the whole module (``configs/`` linked into it, one
  ``$MMBENCH_HOME``); it must exit 0. Any other line is run by bash when the marker says ``shell``, or
  skipped for the reason given by ``others:``; a line with neither fails. ``hash TEXT`` replaces TEXT by
  the config hash of the newest run (a placeholder such as ``<config hash>``); ``cwd DIR`` runs the
  block in that sub-folder of the working folder.
* ``yaml``: parsed, then validated as mmbench validates it: a sweep file by ``mmbench sweep --dry-run``,
  a search file by ``mmbench tune --dry-run``, a run config (or any of its sections) against the
  installed plugins' ``Params`` and the train settings; ``task1`` validates a Task-1 config;
  ``each line`` treats every line as its own document (alternatives written one per line).
* ``python``: executed as a module in the working folder; if it holds ``@mmbench.hookimpl`` functions,
  the module is registered with a fresh plugin manager and must load without failure and provide a
  component or a tracker (as a plugin that `mmbench plugins --check` would call healthy).
* ``ini`` / ``toml``: parsed, and an entry-point declaration must name the ``mmbench`` group.

A block without a marker and without a runner for its language fails, so new docs cannot slip past.
"""
from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
#: subcommands that take ``--set``: a marker's overrides are appended to these only
TAKES_SET = {"run", "sweep", "tune", "task1", "export-embeddings"}
CLAUSES = ("run", "set", "shell", "hash", "cwd", "each line", "task1", "illustrative", "others")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.document.name}:{self.line}"

    def clauses(self) -> dict[str, str]:
        """The marker's clauses, ``name -> argument``: 'run; set a=1 b=2; others: why' ->
        {'run': '', 'set': 'a=1 b=2', 'others': 'why'}. A reason (``illustrative:``, ``others:``) runs to
        the end of the marker, so it comes last and may hold semicolons."""
        text, out = self.marker or "", {}
        reason = re.search(r"\b(illustrative|others):", text)
        if reason:
            text, out[reason.group(1)] = text[:reason.start()], text[reason.end():].strip()
        for clause in filter(None, (c.strip() for c in text.split(";"))):
            name, arg = re.match(r"(each line|[\w-]+)\s*(.*)", clause, re.S).group(1, 2)
            assert name in CLAUSES, f"{self.id}: unknown docs-test clause {name!r}; known: {', '.join(CLAUSES)}"
            out[name] = arg.strip()
        return out


def parse_blocks(document: Path) -> list[Block]:
    lines = document.read_text(encoding="utf-8").split("\n")
    blocks, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(before)
        blocks.append(Block(document, i + 1, fence.group(2), "\n".join(lines[i + 1:end]),
                            marker.group(1) if marker else None))
        i = end + 1
    return blocks


BLOCKS = [b for doc in DOCUMENTS for b in parse_blocks(doc)]


# ------------------------------------------------------------------------------------ shared world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One working folder and one $MMBENCH_HOME for every block of the module (blocks build on each
    other: a leaderboard command reads the rows a run block wrote). The home lies under pytest's base
    folder, so conftest's per-test home leaves it in place."""
    work = tmp_path_factory.mktemp("docs_work")
    (work / "configs").symlink_to(ROOT / "configs")
    home = tmp_path_factory.mktemp("docs_home")
    before = os.environ.get("MMBENCH_HOME")
    os.environ["MMBENCH_HOME"] = str(home)
    yield types.SimpleNamespace(work=work, home=home)
    if before is None:
        os.environ.pop("MMBENCH_HOME", None)
    else:
        os.environ["MMBENCH_HOME"] = before


def newest_run_hash(home: Path) -> str:
    runs = sorted((home / "runs").glob("*/run.json"), key=lambda p: p.stat().st_mtime)
    assert runs, "a `hash` marker needs a run before it in the same block or an earlier one"
    return runs[-1].parent.name


def cli(args: list[str], capsys) -> tuple[int, str]:
    from mmbench import cli as mmbench_cli
    from mmbench.contract.registry import reset_default_registry

    reset_default_registry()
    capsys.readouterr()
    rc = mmbench_cli.main(args)
    out, err = capsys.readouterr()
    return rc, out + err


# ----------------------------------------------------------------------------------------- runners


def run_bash(block: Block, world, capsys) -> None:
    clauses = block.clauses()
    overrides = [a for kv in clauses.get("set", "").split() for a in ("--set", kv)]
    cwd = world.work / clauses.get("cwd", "")
    ran = 0
    for raw in block.text.split("\n"):
        line = raw.split(" #")[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if "hash" in clauses and clauses["hash"] in line:
            line = line.replace(clauses["hash"], newest_run_hash(world.home))
        if line.startswith("mmbench "):
            args = shlex.split(line)[1:]
            args += overrides if args[0] in TAKES_SET else []
            os.chdir(cwd)
            rc, output = cli(args, capsys)
            assert rc == 0, f"{block.id}: `{line}` exited {rc}:\n{output[-3000:]}"
            ran += 1
        elif "shell" in clauses:
            done = subprocess.run(["bash", "-ec", line], cwd=cwd, capture_output=True, text=True,
                                  env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
            assert done.returncode == 0, f"{block.id}: `{line}` exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            ran += 1
        else:
            assert clauses.get("others"), (f"{block.id}: `{line}` is not an mmbench command; the marker needs "
                                           "`shell` to run it or `others: REASON` to say why it is not run")
    assert ran, f"{block.id}: a run marker on a block with nothing to run"


def validate_config_sections(raw: dict, where: str) -> None:
    """A run config, whole or in part, checked against the installed plugins and the train settings."""
    from mmbench.run import config, pipeline
    from mmbench.contract import tracking
    from mmbench.contract.params import build_params
    from mmbench.contract.registry import default_registry
    from mmbench.run.trainer import TrainParams

    registry = default_registry()
    if all(raw.get(s) for s in config.COMPONENT_SECTIONS):
        pipeline.resolve(config.from_dict(raw, where), registry)
        return
    config.check_keys(raw, config.SECTIONS, where, "top-level key")
    for section, values in raw.items():
        if section == "train":
            train = build_params(TrainParams, values, f"{where}: train")
            tracking.check(train.track, registry.tracker_names(), f"{where}: train")
        else:
            values = dict(values)
            registry.configure(section, values.pop("name"), values, f"{where}: {section}")


def run_yaml(block: Block, world, capsys) -> None:
    from mmbench.challenge import task1
    from mmbench.contract.registry import default_registry

    clauses = block.clauses()
    documents = block.text.split("\n") if "each line" in clauses else [block.text]
    for n, text in enumerate(d for d in documents if d.strip()):
        raw = yaml.safe_load(text)
        assert isinstance(raw, dict), f"{block.id}: not a mapping"
        if "sweep" in raw or "tune" in raw:
            path = world.work / f"{block.document.stem}_{block.line}.yaml"
            path.write_text(text, encoding="utf-8")
            command = "sweep" if "sweep" in raw else "tune"
            overrides = [a for kv in clauses.get("set", "").split() for a in ("--set", kv)]
            os.chdir(world.work)
            rc, output = cli([command, str(path), "--dry-run", *overrides], capsys)
            assert rc == 0, f"{block.id}: `mmbench {command} --dry-run` exited {rc}:\n{output[-3000:]}"
        elif "task1" in clauses:
            task1.resolve(task1.config_from_dict(raw, block.id), default_registry())
        else:
            validate_config_sections(raw, f"{block.id} (line {n + 1})")


def hookimpls(module) -> list[str]:
    return [name for name, value in vars(module).items() if hasattr(value, "mmbench_impl")]


def run_python(block: Block, world, capsys) -> None:
    from mmbench.contract.registry import build_registry, new_plugin_manager

    cwd = world.work / block.clauses().get("cwd", "")
    os.chdir(cwd)
    module = types.ModuleType(f"docs_block_{block.document.stem}_{block.line}")
    sys.path.insert(0, str(cwd))
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    try:
        exec(compile(block.text, block.id, "exec"), module.__dict__)  # noqa: S102 - the docs' own code
    finally:
        sys.path.remove(str(cwd))
        del sys.modules[module.__name__]
    if not hookimpls(module):
        return
    pm = new_plugin_manager()
    pm.register(module, name=module.__name__)
    registry = build_registry(pm, entry_points=False)
    assert not registry.failures, f"{block.id}: the plugin is skipped: {[f.line() for f in registry.failures]}"
    provided = [c.name for c in registry.list()] + registry.tracker_names()
    assert provided, f"{block.id}: the plugin's hooks registered nothing"


def run_ini(block: Block, world, capsys) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(block.text)
    if parser.has_section("options.entry_points"):
        assert parser.has_option("options.entry_points", "mmbench"), f"{block.id}: no `mmbench` entry-point group"
        target = parser.get("options.entry_points", "mmbench").split("=")[1].strip()
        assert re.fullmatch(r"[A-Za-z_][\w.]*", target), f"{block.id}: entry point target {target!r}"


def run_toml(block: Block, world, capsys) -> None:
    data = tomllib.loads(block.text)
    entry_points = data.get("project", {}).get("entry-points")
    if entry_points is not None:
        assert "mmbench" in entry_points, f"{block.id}: no `mmbench` entry-point group"


RUNNERS = {"bash": run_bash, "yaml": run_yaml, "python": run_python, "ini": run_ini, "toml": run_toml}
#: languages that run without a marker (a bash block always needs one: its tiny settings)
UNMARKED = {"yaml", "python", "ini", "toml"}


def plan(block: Block) -> str:
    """'illustrative' or 'run'; an AssertionError for a block that has neither a reason nor a runner."""
    clauses = block.clauses()
    if "illustrative" in clauses:
        assert len(clauses["illustrative"].split()) >= 3, f"{block.id}: say why the block is illustrative"
        return "illustrative"
    if block.lang in RUNNERS and ("run" in clauses or block.lang in UNMARKED):
        return "run"
    raise AssertionError(f"{block.id}: a ```{block.lang or '(no language)'} block with no docs-test marker and no "
                         "runner; run it (<!-- docs-test: run; set ... -->) or say why it cannot be run "
                         "(<!-- docs-test: illustrative: REASON -->); tests/test_docs.py explains the markers")


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_block(block: Block, world, capsys):
    if plan(block) == "illustrative":
        return
    cwd = os.getcwd()
    try:
        RUNNERS[block.lang](block, world, capsys)
    finally:
        os.chdir(cwd)


def test_docs_every_block_is_found_and_most_run():
    """The parser sees every fence (none left open), and the share of blocks that run stays high."""
    fences = sum(len(re.findall(r"^\s*```", d.read_text(encoding="utf-8"), re.M)) for d in DOCUMENTS)
    assert fences == 2 * len(BLOCKS)
    counts = {"run": 0, "illustrative": 0}
    for block in BLOCKS:
        counts[plan(block)] += 1
    print(f"\ndocs blocks: {counts['run']} executed, {counts['illustrative']} illustrative, of {len(BLOCKS)}")
    assert counts["run"] >= 20


def test_docs_marker_rules(tmp_path):
    """An unmarked shell block fails; a reason of one word is no reason; markers parse into clauses."""
    doc = tmp_path / "x.md"
    doc.write_text("```bash\nmmbench run x.yaml\n```\n\n<!-- docs-test: illustrative: GPU -->\n```bash\nnvidia-smi\n```\n"
                   "<!-- docs-test: run; set dataset.scale=tiny train.epochs=1; others: installs packages -->\n"
                   "```bash\npip install x\nmmbench run y.yaml\n```\n```\nplain\n```\n")
    unmarked, one_word, marked, no_lang = parse_blocks(doc)
    with pytest.raises(AssertionError, match="no docs-test marker"):
        plan(unmarked)
    with pytest.raises(AssertionError, match="say why"):
        plan(one_word)
    assert plan(marked) == "run" and marked.line == 10
    assert marked.clauses() == {"run": "", "set": "dataset.scale=tiny train.epochs=1", "others": "installs packages"}
    with pytest.raises(AssertionError, match="no language"):
        plan(no_lang)
    reason = Block(doc, 1, "bash", "", "illustrative: measured output; needs FuxiCTR and an hour")
    assert reason.clauses() == {"illustrative": "measured output; needs FuxiCTR and an hour"}
    with pytest.raises(AssertionError, match="unknown docs-test clause 'sett'"):
        Block(doc, 1, "bash", "", "run; sett a=1").clauses()
