"""Run ``mmbench ARGS`` as another (unprivileged) user: ``python as_user.py USER GROUP ARGS...``.

Started as root. The process takes USER's real and effective uid and gid, with GROUP as its only
supplementary group (a team's shared group) and the umask 002, and calls the CLI: every file it
opens, creates, renames or locks is checked by the kernel as USER's. The interpreter and its
site-packages may sit where USER cannot read (a root-only pyenv), so root stays the saved uid and an
import or a font file matplotlib opens (only those: a file is read, nothing of the run) takes
root's effective ids for its duration. The common modules are imported before the switch.
"""
from __future__ import annotations

import grp
import os
import pwd
import sys


def _import_everything() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt
    import rich._emoji_codes  # noqa: F401 - rich loads it on the first markup it prints
    import pyarrow.parquet  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import torch  # noqa: F401

    import mmbench.cli as cli
    import mmbench.output.failures  # noqa: F401
    import mmbench.leaderboard.chart  # noqa: F401
    import mmbench.run.pipeline  # noqa: F401
    import mmbench.run.trainer  # noqa: F401
    from mmbench.contract.registry import default_registry

    fig, ax = plt.subplots()  # matplotlib opens its font files on the first text it draws
    ax.set_title("x", fontweight="bold")
    ax.text(0, 0, "x", fontstyle="italic")
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    cli.build_parser()
    registry = default_registry()
    for kind in ("encoder", "reducer", "model", "dataset"):  # the plugins' modules (and what they import)
        for name in registry.names(kind) if hasattr(registry, "names") else ():
            registry.get(kind, name)


def _imports_as_root(uid: int, gid: int) -> None:
    import builtins
    import importlib

    def as_root(fn):
        def call(*args, **kwargs):
            if os.geteuid() == 0:
                return fn(*args, **kwargs)
            os.seteuid(0)
            os.setegid(0)
            try:
                return fn(*args, **kwargs)
            finally:
                os.setegid(gid)
                os.seteuid(uid)
        return call

    import matplotlib.font_manager as fonts

    builtins.__import__ = as_root(builtins.__import__)
    importlib.import_module = as_root(importlib.import_module)
    fonts._get_font = as_root(fonts._get_font)  # font files, also under the interpreter's folder


def main() -> int:
    user, group, *args = sys.argv[1:]
    _import_everything()
    from mmbench import cli

    entry, gid = pwd.getpwnam(user), grp.getgrnam(group).gr_gid
    os.setgroups([gid])
    _imports_as_root(entry.pw_uid, entry.pw_gid)
    os.setresgid(entry.pw_gid, entry.pw_gid, 0)
    os.setresuid(entry.pw_uid, entry.pw_uid, 0)
    os.environ["HOME"] = entry.pw_dir
    os.umask(0o002)  # a team's umask: what one creates, the group may change
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
