"""``mmbench`` command line. Each subcommand lives in ``mmbench/commands/<name>.py``.

User mistakes (``MMBenchError``) print one line and exit non-zero; tracebacks are for bugs only
(set MMBENCH_DEBUG=1 to see them for user errors too).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from rich.console import Console
from rich.markup import escape

from . import __version__
from .errors import MMBenchError

# module name in mmbench.commands → each defines add_parser(subparsers)
COMMAND_MODULES = ["run", "plugins", "data", "leaderboard", "cache", "bench", "export", "task1", "sweep", "predict",
                   "doctor", "new_plugin"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmbench",
        description="Benchmark item encoder x dimension reducer x CTR model on MicroLens-1M.",
    )
    parser.add_argument("--version", action="version", version=f"mmbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"mmbench.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    err = Console(stderr=True, highlight=False)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MMBenchError as exc:
        if os.environ.get("MMBENCH_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {escape(' '.join(str(exc).split()))}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("[bold yellow]interrupted:[/] stopped by Ctrl-C; nothing partial was written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
