"""The rich consoles of the commands: full-width tables also when the output is a file or a pipe.

Rich falls back to 80 columns when it cannot ask a terminal, which truncates numbers (``0.73…``) in
tables that are meant to be read from a log or a CI job. Without a terminal (and without COLUMNS),
the width is unlimited in practice: each line is as long as its content.
"""
from __future__ import annotations

import os
import sys

from rich.console import Console

UNLIMITED = 1000


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def make_console(stderr: bool = False, stream=None) -> Console:
    """A console on stdout (stderr, or ``stream``): a terminal's width at a terminal, else unlimited."""
    stream = stream or (sys.stderr if stderr else sys.stdout)
    width = None if is_terminal(stream) or os.environ.get("COLUMNS") else UNLIMITED
    if stream in (sys.stdout, sys.stderr):
        return Console(stderr=stream is sys.stderr, highlight=False, width=width)
    return Console(file=stream, highlight=False, width=width)
