"""Stops from outside: Ctrl-C (SIGINT) and SIGTERM (how Slurm, ``docker stop`` and Kubernetes stop a
job) end a command the same way. Python turns SIGINT into ``KeyboardInterrupt``; SIGTERM, whose
default action kills the process on the spot (no message, temp files left behind), is turned into
:class:`Terminated`, a ``KeyboardInterrupt``: every ``finally`` and every cleanup that Ctrl-C runs
runs for it too, and the CLI prints the same line. Exit codes: 130 for SIGINT, 143 for SIGTERM
(128 + the signal's number, what shells and schedulers report for a job stopped by it).
"""
from __future__ import annotations

import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled everywhere as Ctrl-C is."""


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not break the cleanup of the first
    raise Terminated()


def handle_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` (main thread only; again after a library, such as Ray's
    ``init``, installed its own handler)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def describe(exc: KeyboardInterrupt) -> tuple[str, int]:
    """(what stopped the command, its exit code)."""
    if isinstance(exc, Terminated):
        return "stopped by SIGTERM", 128 + signal.SIGTERM
    return "stopped by Ctrl-C", 128 + signal.SIGINT
