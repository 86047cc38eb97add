"""``mmbench`` command line. Each subcommand lives in ``mmbench/commands/<name>.py``.

Whatever goes wrong ends in one line on stderr and a non-zero exit, never a traceback: user mistakes
(``MMBenchError``) print their message; file-system, decoding and memory failures name the path or
the cause and what to do; anything else is reported as an internal error. ``MMBENCH_DEBUG=1`` raises
instead (full traceback) and shows third-party warnings and log lines, which are otherwise silenced
(library log records at ERROR become one ``warning:`` line: :mod:`mmbench.liblog`). mmbench's own
notes (``errors.note``) print as one ``note:`` line each.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
import warnings

from rich.console import Console
from rich.markup import escape

from . import __version__, liblog
from .errors import MMBenchNote, MMBenchWarning, short
from .failures import causes, describe_failure

# module name in mmbench.commands → each defines add_parser(subparsers)
COMMAND_MODULES = ["run", "plugins", "data", "leaderboard", "cache", "bench", "export", "task1", "sweep", "predict",
                   "doctor", "new_plugin", "tune"]
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what `yes | head -1` reports for `yes`
MAX_MESSAGE = 1000  # characters of an error line: a last guard, messages shorten their values themselves


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

    def library_line(text: str) -> None:
        err.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)

    with warnings.catch_warnings(), liblog.routed(library_line, debug):
        warnings.simplefilter("always" if debug else "ignore")
        warnings.simplefilter("always", MMBenchNote)
        warnings.showwarning = show
        if not debug:
            for var in ("TRANSFORMERS_VERBOSITY", "HF_HUB_VERBOSITY"):
                os.environ.setdefault(var, "error")
        yield


def _reader_went_away(exc: BaseException) -> bool:
    """The output's reader closed it (``mmbench leaderboard | head -1``): not a failure of the command."""
    return any(isinstance(e, BrokenPipeError) or (isinstance(e, OSError) and e.errno == errno.EPIPE)
               for e in causes(exc))


class _NamedStream:
    """Standard output whose write errors name it (``> /dev/full``: a bare "No space left on device")."""

    def __init__(self, stream, name: str):
        self._stream, self._name = stream, name

    def _named(self, call, *args):
        try:
            return call(*args)
        except OSError as exc:
            if exc.filename is None and exc.errno is not None:
                exc.filename = self._name
            raise

    def write(self, text):
        return self._named(self._stream.write, text)

    def flush(self):
        return self._named(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _restored_stdout(stdout):
    try:
        yield
    finally:
        sys.stdout = stdout


def _quiet_broken_pipe() -> int:
    """Exit as Unix tools do when their reader is gone: no message, status 141 (128 + SIGPIPE). What is
    left in stdout's buffer goes nowhere (Python would otherwise complain when it flushes at exit)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return BROKEN_PIPE_EXIT


def main(argv: list[str] | None = None) -> int:
    err = Console(stderr=True, highlight=False)
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("MMBENCH_DEBUG"))
    stdout, sys.stdout = sys.stdout, _NamedStream(sys.stdout, "standard output")
    with quiet_libraries(err, debug), _restored_stdout(stdout):
        try:
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a reader that went away is found here, not at exit
            return code
        except KeyboardInterrupt:
            err.print("[bold yellow]interrupted:[/] stopped by Ctrl-C; nothing partial was written")
            return 130
        except SystemExit as exc:  # rich exits with 1 when its reader went away: the same quiet exit
            if _reader_went_away(exc):
                return _quiet_broken_pipe()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line (MMBENCH_DEBUG=1: traceback)
            if _reader_went_away(exc):
                return _quiet_broken_pipe()
            if debug:
                raise
            message, code = describe_failure(exc)
            message = short(message, MAX_MESSAGE)
            err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
            return code


if __name__ == "__main__":
    sys.exit(main())
