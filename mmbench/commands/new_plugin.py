"""``mmbench new-plugin NAME [--out DIR]``: scaffold a plugin distribution that passes its own tests."""
from __future__ import annotations


def cmd_new_plugin(args) -> int:
    from ..files import paths
    from ..scaffold import names_for, scaffold

    target = scaffold(args.name, paths.writable_dir(args.out, "--out"))
    short = names_for(args.name)["short"]
    # a bare folder name would make pip look the distribution up on PyPI, where it is not
    folder = str(target) if target.is_absolute() or str(target).startswith(".") else f"./{target}"
    print(f"wrote {target}: encoder '{short}_encoder', model '{short}_model'")
    print(f"  test it:    cd {folder} && PYTHONPATH=. python -m pytest tests -q")
    print(f"  install it: pip install -e {folder}   (editable, from this folder; then `mmbench plugins {short}`)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("new-plugin", help="scaffold a plugin package (encoder + model + tests)")
    p.add_argument("name", help="plugin name, e.g. my-encoder (distribution mmbench-my-encoder)")
    p.add_argument("--out", default=".", help="folder to create it in (default: here)")
    p.set_defaults(func=cmd_new_plugin)
