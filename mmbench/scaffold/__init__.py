"""``mmbench new-plugin NAME``: write a plugin distribution that works and passes its own tests.

The files are the templates in this folder (``*.tmpl``, ``string.Template`` syntax) with the names
filled in; the result is a normal pip-installable project with one ``mmbench`` entry point.
"""
from __future__ import annotations

import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import MMBenchError

# template file -> path in the new project ($package is replaced)
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "$package/__init__.py",
    "encoder.py.tmpl": "$package/encoder.py",
    "model.py.tmpl": "$package/model.py",
    "config.yaml.tmpl": "$package/config.yaml",
    "test_plugin.py.tmpl": "tests/test_$package.py",
}


def names_for(name: str) -> dict[str, str]:
    """'My Plugin' / 'mmbench-my-plugin' -> distribution mmbench-my-plugin, package mmbench_my_plugin,
    component prefix my_plugin."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        raise MMBenchError(f"plugin name {name!r} must start with a letter (e.g. `mmbench new-plugin my-encoder`)")
    short = slug[len("mmbench_"):] if slug.startswith("mmbench_") and len(slug) > 8 else slug
    package = f"mmbench_{short}"
    if keyword.iskeyword(short):
        raise MMBenchError(f"plugin name {name!r} is a Python keyword; choose another")
    return {"dist": package.replace("_", "-"), "package": package, "short": short}


def scaffold(name: str, out: Path) -> Path:
    names = names_for(name)
    target = Path(out) / names["dist"]
    if target.exists():
        raise MMBenchError(f"{target} already exists; choose another name or --out folder")
    templates = resources.files(__package__)
    for tmpl, rel in FILES.items():
        text = Template(templates.joinpath(tmpl).read_text(encoding="utf-8")).substitute(names)
        path = target / Template(rel).substitute(names)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
