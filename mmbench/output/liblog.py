"""Third-party logging (Optuna, MLflow, Ray, Hugging Face, ...) routed through mmbench's own lines.

Under the CLI each library's logger is set to ERROR and its handlers are replaced by one that prints
``warning: <library>: <first line>``: their INFO and WARNING lines (MLflow creating its tables, Ray
starting, Optuna's per-trial lines) never reach an ordinary run's stderr, and what is left is one
mmbench line. ``MMBENCH_DEBUG=1`` leaves every library's logging as the library set it.

Some libraries configure their loggers when they are imported (Ray, Optuna) or started (``ray.init``);
the code that imports them lazily calls :func:`reapply` right after.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Callable

from ..errors import short

#: top-level loggers of the libraries mmbench uses (their children propagate to them); a plugin adds its
#: own library's with :func:`route` (the MLflow tracker: "mlflow")
LIBRARIES = ("optuna", "ray", "alembic", "sqlalchemy", "huey", "huggingface_hub", "transformers",
             "sentence_transformers", "urllib3", "filelock", "torch", "PIL", "matplotlib", "open_clip")
LEVEL = logging.ERROR


class _Lines(logging.Handler):
    def __init__(self, emit: Callable[[str], None]):
        super().__init__(LEVEL)
        self.emit_line = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            lines = record.getMessage().strip().splitlines()
            self.emit_line(f"{record.name.split('.')[0]}: {short(lines[0] if lines else record.levelname, 300)}")
        except Exception:  # noqa: BLE001 - a log line must never break a run
            pass


_handler: _Lines | None = None
#: loggers added by route() while routed, with their (level, handlers, propagate) from before
_added: dict[str, tuple] = {}


def route(*names: str) -> None:
    """Route these loggers too (a plugin's library, imported by the plugin), until the routing ends."""
    if _handler is None:
        return
    for name in names:
        if name not in LIBRARIES and name not in _added:
            logger = logging.getLogger(name)
            _added[name] = (logger.level, list(logger.handlers), logger.propagate)
    reapply()


def reapply() -> None:
    """Route the libraries' loggers again (a library just imported or started reset its own)."""
    if _handler is None:
        return
    for name in (*LIBRARIES, *_added):
        logger = logging.getLogger(name)
        logger.handlers = [_handler]
        logger.setLevel(LEVEL)
        logger.propagate = False


def level(name: str) -> int:
    """The level a library should be started with (``ray.init(logging_level=...)``): ERROR while
    routed, else the library's own (INFO where it has none)."""
    return LEVEL if _handler is not None else (logging.getLogger(name).level or logging.INFO)


@contextlib.contextmanager
def routed(emit: Callable[[str], None], debug: bool):
    """While active: library log records at ERROR and above become ``emit(one line)``, the rest is
    dropped; the loggers are put back as they were afterwards. ``debug``: nothing changes."""
    global _handler
    if debug or _handler is not None:
        yield
        return
    saved = {name: (lg.level, list(lg.handlers), lg.propagate)
             for name, lg in ((n, logging.getLogger(n)) for n in LIBRARIES)}
    env = {"MLFLOW_CONFIGURE_LOGGING": "false"}  # MLflow would otherwise install its handler on import
    old_env = {k: os.environ.get(k) for k in env}
    for key, value in env.items():
        os.environ.setdefault(key, value)
    _handler = _Lines(emit)
    try:
        reapply()
        yield
    finally:
        _handler = None
        saved.update(_added)
        _added.clear()
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers = handlers
            logger.propagate = propagate
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
