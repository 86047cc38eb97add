"""User-facing errors and notes.

An :class:`MMBenchError` is printed by the CLI as one line, with a non-zero exit and no traceback. A
:func:`note` is something the user should know that does not stop the run (a file mmbench ignores,
a fallback in use); the CLI prints each as one ``note:`` (or, for :func:`warn`, ``warning:``) line on stderr.
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


class MMBenchNote(UserWarning):
    """Raised through :mod:`warnings` so that library code never prints; the CLI shows one line each."""


class MMBenchWarning(MMBenchNote):
    """A note about something that changes what a run measures (e.g. every cover is a fallback)."""


def note(message: str) -> None:
    """Something the user should know that changes nothing (a file mmbench ignores); CLI: ``note:``."""
    warnings.warn(MMBenchNote(message), stacklevel=2)


def warn(message: str) -> None:
    """Something that changes what the run measures but need not stop it; CLI: ``warning:``."""
    warnings.warn(MMBenchWarning(message), stacklevel=2)


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, its middle cut out beyond ``limit`` characters: one huge value (a pasted
    list, a long path) cannot flood a message. Pass ``repr(value)`` for values."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = max(limit - 30, 10)
    return f"{text[:head]}…{text[-15:]} ({len(text)} chars)"


def one_line(exc: BaseException, whole: bool = False) -> str:
    """An exception as one line: a user error's own message, anything else prefixed by its type.

    By default the first line only: it is the message, what follows (tracebacks pasted into messages,
    hints) is detail. ``whole``: every line, joined (pluggy's validation errors put the reason on line 2).
    """
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    text = " ".join(lines) if whole else (lines[0] if lines else "")
    if isinstance(exc, MMBenchError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
