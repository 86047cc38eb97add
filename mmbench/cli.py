"""``mmbench`` command line. Each subcommand lives in ``mmbench/commands/<name>.py``.

Whatever goes wrong ends in one line on stderr and a non-zero exit, never a traceback: user mistakes
(``MMBenchError``) print their message; file-system, decoding and memory failures name the path or
the cause and what to do; anything else is reported as an internal error. ``MMBENCH_DEBUG=1`` raises
instead (full traceback) and shows third-party warnings, which are otherwise silenced. mmbench's own
notes (``errors.note``) print as one ``note:`` line each.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import warnings

from rich.console import Console
from rich.markup import escape

from . import __version__
from .errors import MMBenchNote, MMBenchWarning, short
from .failures import describe_failure

# module name in mmbench.commands → each defines add_parser(subparsers)
COMMAND_MODULES = ["run", "plugins", "data", "leaderboard", "cache", "bench", "export", "task1", "sweep", "predict",
                   "doctor", "new_plugin", "tune", "show"]
MAX_MESSAGE = 1000  # characters of an error line: a last guard, messages shorten their values themselves
#: third-party loggers whose warnings (hub retries, deprecations) would bury mmbench's one line
NOISY_LOGGERS = ("huggingface_hub", "transformers", "urllib3", "filelock", "torch", "PIL", "matplotlib")


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


@contextlib.contextmanager
def quiet_libraries(err: Console, debug: bool):
    """Notes become ``note:`` lines (each once); other warnings and library logging are silenced."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, MMBenchNote):
            text = short(str(message), 1000)
            if text not in shown:
                shown.add(text)
                label = "[yellow]warning:[/]" if issubclass(category, MMBenchWarning) else "[cyan]note:[/]"
                err.print(f"{label} {escape(text)}", soft_wrap=True)
        elif debug:
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    with warnings.catch_warnings():
        warnings.simplefilter("always" if debug else "ignore")
        warnings.simplefilter("always", MMBenchNote)
        warnings.showwarning = show
        if not debug:
            for name in NOISY_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            for var in ("TRANSFORMERS_VERBOSITY", "HF_HUB_VERBOSITY"):
                os.environ.setdefault(var, "error")
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    err = Console(stderr=True, highlight=False)
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("MMBENCH_DEBUG"))
    with quiet_libraries(err, debug):
        try:
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            err.print("[bold yellow]interrupted:[/] stopped by Ctrl-C; nothing partial was written")
            return 130
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line (MMBENCH_DEBUG=1: traceback)
            if debug:
                raise
            message, code = describe_failure(exc)
            message = short(message, MAX_MESSAGE)
            err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
            return code


if __name__ == "__main__":
    sys.exit(main())
