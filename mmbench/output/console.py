"""The rich consoles of the commands: one rule for everything mmbench prints through rich.

**No text is parsed as markup.** Paths, plugin names, cache labels and config values are the user's
(``--leaderboard-dir 'lb[/x]'`` is a valid folder): rich would read ``[/x]`` as a closing tag and fail
after the work is done, or swallow ``[red]`` and ``:smile:`` silently. So every console, table cell and
progress column here takes strings literally (``markup=False``, ``emoji=False``), and the few styled
words mmbench adds itself (``error:``, ``ok``) are :class:`rich.text.Text` with a style, never markup:
there is nothing to escape, and nothing can be forgotten. Only this module constructs a Console
(``tests/test_architecture.py`` checks it).

Rich falls back to 80 columns when it cannot ask a terminal, which truncates numbers (``0.73…``) in
tables that are meant to be read from a log or a CI job. Without a terminal (and without COLUMNS),
the width is unlimited in practice: each line is as long as its content.
"""
from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import TextColumn
from rich.text import Text

UNLIMITED = 1000
#: the styles of mmbench's own labels
LABELS = {"error": "bold red", "warning": "yellow", "note": "cyan", "interrupted": "bold yellow",
          "ok": "green", "broken": "red"}


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def make_console(stderr: bool = False, stream=None) -> Console:
    """A console on stdout (stderr, or ``stream``): a terminal's width at a terminal, else unlimited.
    It takes every string literally (no markup, no emoji codes): names from configs and paths print
    as they are; mmbench's own styling goes through :func:`styled` and :func:`labelled`."""
    stream = stream or (sys.stderr if stderr else sys.stdout)
    width = None if is_terminal(stream) or os.environ.get("COLUMNS") else UNLIMITED
    common = dict(highlight=False, markup=False, emoji=False, width=width)
    if stream in (sys.stdout, sys.stderr):
        return Console(stderr=stream is sys.stderr, **common)
    return Console(file=stream, **common)


def styled(text: str, style: str | None = None) -> Text:
    """``text`` as it is (brackets included), in ``style``."""
    return Text(str(text), style=style or "")


def labelled(label: str, text: str) -> Text:
    """``label: text``, the label styled (:data:`LABELS`), the text literal."""
    return Text.assemble((f"{label}:", LABELS.get(label, "")), " ", str(text))


def text_column(field: str) -> TextColumn:
    """A progress column showing ``field`` literally (a description holds names from configs)."""
    return TextColumn(field, markup=False)
