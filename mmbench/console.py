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


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    interactive = hasattr(stream, "isatty") and stream.isatty()
    width = None if interactive or os.environ.get("COLUMNS") else UNLIMITED
    return Console(stderr=stderr, highlight=False, width=width)
