"""``mmbench`` command line. Each subcommand lives in ``mmbench/commands/<name>.py``.

Whatever goes wrong ends in one line on stderr and a non-zero exit, never a traceback: user mistakes
(``MMBenchError``) print their message; file-system, decoding and memory failures name the path or
the cause and what to do; anything else is reported as an internal error. Ctrl-C and SIGTERM stop a
command the same way: one ``interrupted:`` line, exit 130 or 143 (``mmbench/files/interrupts.py``). ``MMBENCH_DEBUG=1`` raises
instead (full traceback) and shows third-party warnings and log lines, which are otherwise silenced
(library log records at ERROR become one ``warning:`` line: :mod:`mmbench.output.liblog`). mmbench's own
notes (``errors.note``) print as one ``note:`` line each.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
import time
import warnings

from rich.console import Console

from . import __version__
from .output import liblog
from .output import events as events_mod
from .output.console import labelled, make_console
from .errors import MMBenchNote, MMBenchWarning, short
from .output.failures import causes, describe_failure
from .files.interrupts import describe as describe_interrupt
from .files.interrupts import handle_sigterm

# module name in mmbench.commands → each defines add_parser(subparsers)
COMMAND_MODULES = ["run", "plugins", "data", "leaderboard", "cache", "bench", "export", "task1", "sweep", "predict",
                   "doctor", "new_plugin", "tune", "show"]
BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what `yes | head -1` reports for `yes`
MAX_MESSAGE = 1000  # characters of an error line: a last guard, messages shorten their values themselves
#: commands that run for minutes: in a log their first line is written before anything heavy loads
LONG_COMMANDS = ("run", "sweep", "tune", "export-embeddings", "task1")


def add_output_options(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """``--log-format`` and ``-q``: accepted before the command (global) and after it."""
    default = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument("--log-format", choices=events_mod.LOG_FORMATS, **({"default": None} | default),
                        help="plain timestamped lines (text) or one JSON object per event (json); "
                             "default: progress bars at a terminal, text otherwise")
    parser.add_argument("-q", "--quiet", action="store_true", **default,
                        help="print only the result (and errors)")


class UsageError(Exception):
    """The command line does not parse (unknown option, a value out of range): one ``error:`` line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming the command and the option (no usage block): every
    mistake mmbench reports looks the same, and scripts read the last line. Subcommands inherit it."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mmbench",
        description="Benchmark item encoder x dimension reducer x CTR model on MicroLens-1M.",
    )
    parser.add_argument("--version", action="version", version=f"mmbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_output_options(parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"mmbench.commands.{name}").add_parser(sub)
    for command in set(sub.choices.values()):
        add_output_options(command, suppress=True)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The subcommand's name in a raw command line (the first word that is no option or option value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--log-format":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def start_events(argv: list[str]) -> events_mod.Events:
    """The command's event stream, and its first line for a long command in a log."""
    fmt, quiet = events_mod.early_options(argv)
    events = events_mod.Events(events_mod.choose_renderer(fmt, quiet))
    events.t0 = time.monotonic()
    command = _command_of(argv)
    if command in LONG_COMMANDS and not {"-h", "--help", "--version"} & set(argv):
        events.emit("started", version=__version__, command=" ".join(["mmbench", *argv]), pid=os.getpid())
        events.start_up(events.t0)  # imports (torch, plugins) take seconds: the heartbeat covers them
    return events


@contextlib.contextmanager
def quiet_libraries(err: Console, debug: bool):
    """Notes become ``note:`` lines (each once); other warnings and library logging are silenced."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, MMBenchNote):
            text = short(str(message), 1000)
            if text not in shown:
                shown.add(text)
                label = "warning" if issubclass(category, MMBenchWarning) else "note"
                err.print(labelled(label, text), soft_wrap=True)
        elif debug:
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    def library_line(text: str) -> None:
        err.print(labelled("warning", text), soft_wrap=True)

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
    err = make_console(stderr=True)
    argv = sys.argv[1:] if argv is None else list(argv)
    events = start_events(argv)
    try:
        return _main(argv, err, events)
    finally:
        events.close()


def _main(argv: list[str], err: Console, events: events_mod.Events) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        events.close()
        err.print(labelled("error", short(str(exc), MAX_MESSAGE)), soft_wrap=True)
        return 2
    args.events = events
    debug = bool(os.environ.get("MMBENCH_DEBUG"))
    handle_sigterm()
    stdout, sys.stdout = sys.stdout, _NamedStream(sys.stdout, "standard output")
    with quiet_libraries(err, debug), _restored_stdout(stdout):
        try:
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a reader that went away is found here, not at exit
            return code
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (interrupts.Terminated)
            events.close()  # progress bars gone before the last line
            what, code = describe_interrupt(exc)
            err.print(labelled("interrupted", f"{what}; nothing partial was written"))
            return code
        except SystemExit as exc:  # rich exits with 1 when its reader went away: the same quiet exit
            if _reader_went_away(exc):
                return _quiet_broken_pipe()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line (MMBENCH_DEBUG=1: traceback)
            if _reader_went_away(exc):
                return _quiet_broken_pipe()
            if debug:
                events.close()
                raise
            message, code = describe_failure(exc)
            message = short(message, MAX_MESSAGE)
            events.emit("error", message=message)  # a JSON log ends with it too (text: stderr's line only)
            events.close()
            err.print(labelled("error", message), soft_wrap=True)
            return code


if __name__ == "__main__":
    sys.exit(main())
