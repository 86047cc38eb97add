"""User-facing errors and notes.

An :class:`MMBenchError` is printed by the CLI as one line, with a non-zero exit and no traceback. A
:func:`note` is something the user should know that does not stop the run (a file mmbench ignores,
a fallback in use); the CLI prints each as one ``warning:`` line on stderr.
"""
from __future__ import annotations

import warnings


class MMBenchError(Exception):
    """A mistake the user can fix (config, data, plugin, environment). The message says what to do."""

    exit_code = 2


class ConfigError(MMBenchError):
    """A config file or --set override is wrong."""


class DataError(MMBenchError):
    """Data is missing or does not have the challenge layout."""


class PluginError(MMBenchError):
    """A plugin is unknown, broken, or clashes with another."""


class RunInterrupted(MMBenchError):
    """The user pressed Ctrl-C; nothing partial was written."""

    exit_code = 130


class MMBenchNote(UserWarning):
    """Raised through :mod:`warnings` so that library code never prints; the CLI shows one line each."""


def note(message: str) -> None:
    warnings.warn(MMBenchNote(message), stacklevel=2)


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, its middle cut out beyond ``limit`` characters: one huge value (a pasted
    list, a long path) cannot flood a message. Pass ``repr(value)`` for values."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = max(limit - 30, 10)
    return f"{text[:head]}…{text[-15:]} ({len(text)} chars)"
