"""The one stream of what a long command is doing, and the renderers that show it.

Every stage, progress update, epoch and message of ``run``, ``sweep``, ``tune`` and ``export`` is an
event on an ``Events`` stream; one renderer turns the events into output:

    rich    at a terminal: transient progress bars, epoch lines, the result (as before)
    text    anywhere else (a log file, a pipe, a batch job): plain timestamped lines, never wrapped,
            flushed at once; progress at each 10 % with an ETA (none within 5 s of the last), and
            a line at least every 20 s while something runs (a heartbeat naming the open stage and
            the latest progress with its ETA)
    json    ``--log-format json``: the same events as one JSON object per line (time, event, ...)
    quiet   ``-q``: the result alone (errors still go to stderr)

Plugins see the stream as ``ctx.events`` and, for code written against rich, ``ctx.progress``: an
object with rich ``Progress``'s ``add_task`` / ``update`` / ``remove_task`` that feeds the stream.
This module imports nothing heavy: ``mmbench.cli`` writes its first line through it before torch loads.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import sys
import threading
import time

LOG_FORMATS = ("text", "json")
PROGRESS_STEP = 0.10  # a progress line each time a task crosses another 10 % ...
PROGRESS_QUIET = 5.0  # ... but never within 5 s of the task's last line: a quick loop has its end line only
HEARTBEAT_SECONDS = 20.0  # and a line (the open stage, the latest progress, its ETA) after 20 s of silence


def clock(seconds: float) -> str:
    """12.3s, 4m05s, 1h02m."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class Task:
    """A loop with a known length (items, batches); ``advance`` / ``update`` as it goes, ``close`` at its end."""

    _ids = itertools.count(1)

    def __init__(self, events: "Events", description: str, total: int | None, **fields):
        self.events, self.description, self.total = events, description, total
        self.id, self.done, self.t0, self.fields = next(Task._ids), 0, time.monotonic(), dict(fields)
        self.closed = False
        events.emit("task_start", task=self.id, description=description, total=total)

    @property
    def eta(self) -> float | None:
        if not self.total or self.done <= 0 or self.done >= self.total:
            return None
        elapsed = time.monotonic() - self.t0
        return elapsed / self.done * (self.total - self.done)

    def state(self) -> dict:
        out = {"task": self.id, "description": self.description, "done": self.done, "total": self.total,
               "elapsed": round(time.monotonic() - self.t0, 1)}
        if self.total:
            out["percent"] = round(100.0 * self.done / self.total, 1)
        if self.eta is not None:
            out["eta_seconds"] = round(self.eta, 1)
        return {**out, **{k: v for k, v in self.fields.items() if v not in ("", None)}}

    def update(self, completed: int | None = None, advance: int = 0, description: str | None = None,
               total: int | None = None, **fields) -> None:
        if description is not None:
            self.description = description
        if total is not None:
            self.total = total
        self.done = completed if completed is not None else self.done + advance
        self.fields.update(fields)
        self.events.emit("progress", **self.state())

    def advance(self, n: int = 1, **fields) -> None:
        self.update(advance=n, **fields)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.events.emit("task_end", task=self.id, description=self.description, done=self.done,
                             seconds=round(time.monotonic() - self.t0, 3))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RichProgressAdapter:
    """``ctx.progress`` for plugins written against rich: the calls they make on a rich ``Progress``,
    turned into the stream's tasks."""

    def __init__(self, events: "Events"):
        self.events, self.tasks = events, {}

    def add_task(self, description: str, total: float | None = None, completed: int = 0, **fields) -> int:
        task = self.events.task(description, None if total is None else int(total), **fields)
        if completed:
            task.update(completed=completed)
        self.tasks[task.id] = task
        return task.id

    def update(self, task_id: int, *, completed=None, advance=None, description=None, total=None, **fields) -> None:
        task = self.tasks.get(task_id)
        if task is not None:
            fields.pop("refresh", None)
            fields.pop("visible", None)
            task.update(completed=completed, advance=advance or 0, description=description,
                        total=None if total is None else int(total), **fields)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def remove_task(self, task_id: int) -> None:
        task = self.tasks.pop(task_id, None)
        if task is not None:
            task.close()


class Events:
    """The stream. ``Events()`` alone shows nothing (library use, tests); the CLI gives it a renderer."""

    def __init__(self, renderer=None):
        self.renderer = renderer
        self.progress = RichProgressAdapter(self)
        self._startup_t0: float | None = None

    def start_up(self, t0: float) -> None:
        """Open the start-up stage: it ends at the command's first event, so the seconds its imports
        take (torch, the plugins) count as start-up rather than as a silent gap before the next stage."""
        self._startup_t0 = t0
        self.emit("stage_start", stage="start-up")

    def emit(self, event: str, **fields) -> None:
        if self._startup_t0 is not None and fields.get("stage") != "start-up":
            t0, self._startup_t0 = self._startup_t0, None
            self.emit("stage_end", stage="start-up", seconds=round(time.monotonic() - t0, 3))
        if self.renderer is not None:
            self.renderer.render(event, fields)

    @contextlib.contextmanager
    def stage(self, name: str, **fields):
        """``with events.stage("encode") as end: ... end["cache"] = "hit"``: a start and an end line
        with the seconds; what the body puts into ``end`` goes onto the end line."""
        t0 = time.monotonic()
        end: dict = {}
        self.emit("stage_start", stage=name, **fields)
        try:
            yield end
        except BaseException as exc:
            self.emit("stage_end", stage=name, seconds=round(time.monotonic() - t0, 3), status="failed",
                      error=type(exc).__name__)
            raise
        self.emit("stage_end", stage=name, seconds=round(time.monotonic() - t0, 3), **fields, **end)

    def task(self, description: str, total: int | None, **fields) -> Task:
        return Task(self, description, total, **fields)

    def epoch(self, log, run: str = "") -> None:
        """One training epoch's ``trainer.EpochLog``; ``run`` names the run inside a sweep or a study."""
        self.emit("epoch", run=run, epoch=log.epoch, train_logloss=round(float(log.train_loss), 6),
                  metrics={k: round(float(v), 6) for k, v in log.valid.items()}, seconds=round(log.seconds, 3))

    def message(self, text: str, **fields) -> None:
        self.emit("message", message=text, **fields)

    def result(self, shown=None, **data) -> None:
        """What the command produced: ``shown`` (text or a rich renderable) for people, ``data`` for
        ``--log-format json``. Printed under ``-q`` too."""
        self.emit("result", shown=shown, **data)

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------------------------------- texts


def _metrics_text(metrics: dict) -> str:
    names = {"auc": "valid AUC", "logloss": "logloss", "gauc": "gAUC"}
    return "  ".join(f"{names.get(k, k)} {v:.4f}" for k, v in metrics.items())


def progress_text(f: dict) -> str:
    total = f.get("total")
    percent = f.get("percent", 100 * f["done"] / total if total else 0)  # none before the first step's progress
    done = f"{f['done']:,}/{total:,} ({int(percent)} %)" if total else f"{f['done']:,}"
    extra = [str(v) for k, v in f.items() if k not in {"task", "description", "done", "total", "percent",
                                                        "elapsed", "eta_seconds"}]
    eta = f", ETA {clock(f['eta_seconds'])}" if "eta_seconds" in f else ""
    return f"{f['description']}: {done}{', ' + ', '.join(extra) if extra else ''}, {clock(f['elapsed'])} elapsed{eta}"


def event_text(event: str, f: dict) -> str | None:
    """The one line of an event in a log (None: the event has no line of its own)."""
    run = f"[{f['run']}] " if f.get("run") else ""
    if event == "stage_start":
        detail = "".join(f", {k} {v}" for k, v in f.items() if k != "stage")
        return f"{f['stage']}: start{detail}"
    if event == "stage_end":
        detail = "".join(f", {k} {v}" for k, v in f.items() if k not in ("stage", "seconds", "status"))
        word = "FAILED after" if f.get("status") == "failed" else "done in"
        return f"{f['stage']}: {word} {clock(f['seconds'])}{detail}"
    if event == "epoch":
        return (f"{run}epoch {f['epoch']}: train logloss {f['train_logloss']:.4f}  {_metrics_text(f['metrics'])}  "
                f"({clock(f['seconds'])})")
    if event == "progress":
        return progress_text(f)
    if event == "message":
        return f["message"]
    if event == "started":
        return f"mmbench {f['version']}: {f['command']} (pid {f['pid']})"
    return None


# --------------------------------------------------------------------------------------- renderers


class LineRenderer:
    """Plain timestamped lines (``text``) or JSON objects (``json``), one per event, flushed at once.

    Progress is rate-bounded per task (each 10 %); a heartbeat thread writes the open stage and the
    latest progress whenever nothing was written for ``HEARTBEAT_SECONDS``.
    """

    def __init__(self, fmt: str = "text", stream=None, quiet: bool = False, heartbeat: float = HEARTBEAT_SECONDS,
                 min_seconds: float = PROGRESS_QUIET):
        self.fmt, self.stream, self.quiet, self.min_seconds = fmt, stream or sys.stdout, quiet, min_seconds
        self.lock = threading.RLock()
        self.last_line = time.monotonic()
        self.stages: list[tuple[str, float]] = []  # open stages, innermost last
        self.tasks: dict[int, dict] = {}  # open tasks' latest state
        self.shown: dict[int, tuple[float, int]] = {}  # task -> (time of its last line, 10 % bucket)
        self.console = None
        self._stop = threading.Event()
        self._thread = None
        if heartbeat and not quiet:
            self.heartbeat = heartbeat
            self._thread = threading.Thread(target=self._beat, name="mmbench-heartbeat", daemon=True)
            self._thread.start()

    # -- writing
    def _write(self, event: str, fields: dict, text: str | None) -> None:
        with self.lock:
            if self.fmt == "json":
                record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, **fields}
                line = json.dumps(record, default=str, allow_nan=True)
            else:
                if text is None:
                    return
                line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_line = time.monotonic()

    def render(self, event: str, fields: dict) -> None:
        with self.lock:
            self._track(event, fields)
            if event == "result":
                self._result(fields)
                return
            if self.quiet:
                return
            if event == "progress" and not self._due(fields):
                return
            if event in ("task_start", "task_end"):
                if self.fmt == "json":
                    self._write(event, fields, None)
                return
            self._write(event, fields, event_text(event, fields))

    def _track(self, event: str, f: dict) -> None:
        now = time.monotonic()
        if event == "stage_start":
            self.stages.append((f["stage"], now))
        elif event == "stage_end":
            for i in range(len(self.stages) - 1, -1, -1):
                if self.stages[i][0] == f["stage"]:
                    del self.stages[i]
                    break
        elif event == "task_start":
            self.tasks[f["task"]] = {"task": f["task"], "description": f["description"], "done": 0,
                                     "total": f["total"], "elapsed": 0.0, "t0": now}
            self.shown[f["task"]] = (now, 0)
        elif event == "task_end":
            self.tasks.pop(f["task"], None)
            self.shown.pop(f["task"], None)
        elif event == "progress" and f["task"] in self.tasks:
            self.tasks[f["task"]] = {**f, "t0": now - f["elapsed"]}

    def _due(self, f: dict) -> bool:
        """A progress line now? At each new 10 % of the task and at its end, never within ``min_seconds``
        of its last line (a loop of a few seconds is not worth ten lines). Between them, the heartbeat
        writes the latest progress after ``HEARTBEAT_SECONDS`` of silence."""
        now = time.monotonic()
        last, bucket = self.shown.get(f["task"], (now, 0))
        total = f.get("total")
        new_bucket = int(f["done"] / total / PROGRESS_STEP) if total else 0
        if now - last < self.min_seconds:
            return False
        if total and (new_bucket > bucket or f["done"] >= total):
            if total and f["done"] >= total and bucket >= round(1 / PROGRESS_STEP):
                return False  # the 100 % line was written already
            self.shown[f["task"]] = (now, max(new_bucket, bucket))
            return True
        return False

    def _result(self, fields: dict) -> None:
        shown = fields.pop("shown", None)
        if self.fmt == "json":
            self._write("result", fields, None)
            return
        if shown is None:
            return
        self.stream.flush()
        if isinstance(shown, str):
            self.stream.write(shown + "\n")
        else:
            if self.console is None:
                from .console import make_console

                self.console = make_console(stream=self.stream)
            self.console.print(shown)
        self.stream.flush()
        self.last_line = time.monotonic()

    # -- heartbeat
    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            with self.lock:
                if time.monotonic() - self.last_line < self.heartbeat or not (self.stages or self.tasks):
                    continue
                now = time.monotonic()
                fields: dict = {}
                parts = []
                if self.stages:
                    stage, t0 = self.stages[-1]
                    fields.update(stage=stage, elapsed=round(now - t0, 1))
                    parts.append(f"{stage}: running for {clock(now - t0)}")
                if self.tasks:
                    task = _as_of(list(self.tasks.values())[-1], now)
                    fields["progress"] = task
                    try:
                        parts.append(progress_text(task))
                    except (KeyError, TypeError, ValueError):  # a malformed progress must not end the heartbeat
                        parts.append(str(task.get("description", "")))
                self._write("heartbeat", fields, "; ".join(parts))

    def close(self) -> None:
        self._stop.set()


def _as_of(task: dict, now: float) -> dict:
    """A task's last progress with its elapsed time and ETA brought up to ``now``."""
    out = {k: v for k, v in task.items() if k not in ("t0", "eta_seconds")}
    out["elapsed"] = round(now - task["t0"], 1)
    if task.get("total") and 0 < task["done"] < task["total"]:
        out["eta_seconds"] = round(out["elapsed"] / task["done"] * (task["total"] - task["done"]), 1)
    return out


class RichRenderer:
    """At a terminal: rich's transient progress bars for tasks and stages, lines for epochs and messages."""

    def __init__(self, console=None):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from .console import make_console, text_column

        self.console = console or make_console()
        self.bars = Progress(text_column("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             text_column("{task.fields[info]}"), TimeElapsedColumn(), console=self.console,
                             transient=True)
        self.ids: dict[int, int] = {}
        self.stage_ids: dict[str, int] = {}
        self.started = False

    def _start(self) -> None:
        if not self.started:
            self.bars.start()
            self.started = True

    def render(self, event: str, f: dict) -> None:
        if event == "stage_start":
            self._start()
            self.stage_ids[f["stage"]] = self.bars.add_task(f"{f['stage']} …", total=None, info="")
        elif event == "stage_end":
            tid = self.stage_ids.pop(f["stage"], None)
            if tid is not None:
                self.bars.remove_task(tid)
        elif event == "task_start":
            self._start()
            self.ids[f["task"]] = self.bars.add_task(f["description"], total=f["total"], info="")
        elif event == "progress":
            tid = self.ids.get(f["task"])
            if tid is not None:
                extra = [str(v) for k, v in f.items() if k not in {"task", "description", "done", "total", "percent",
                                                                   "elapsed", "eta_seconds"}]
                self.bars.update(tid, completed=f["done"], total=f["total"], description=f["description"],
                                 info=", ".join(extra))
        elif event == "task_end":
            tid = self.ids.pop(f["task"], None)
            if tid is not None:
                self.bars.remove_task(tid)
        elif event in ("epoch", "message"):
            self.console.print(event_text(event, f), soft_wrap=True)
        elif event == "result":
            shown = f.get("shown")
            if shown is not None:
                self.console.print(shown, soft_wrap=isinstance(shown, str))

    def close(self) -> None:
        if self.started:
            self.bars.stop()
            self.started = False


class QuietRenderer(LineRenderer):
    """``-q`` at a terminal or not: the result alone."""

    def __init__(self, fmt: str = "text", stream=None):
        super().__init__(fmt, stream, quiet=True, heartbeat=0)


def choose_renderer(log_format: str | None = None, quiet: bool = False, stream=None):
    """``--log-format`` and ``-q`` → a renderer: rich at a terminal unless a format was asked for."""
    stream = stream or sys.stdout
    if quiet:
        return QuietRenderer(log_format or "text", stream)
    if log_format is None:
        interactive = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"
        if interactive:
            return RichRenderer()
        log_format = "text"
    return LineRenderer(log_format, stream)


def early_options(argv: list[str]) -> tuple[str | None, bool]:
    """(--log-format, -q) from a raw command line, so that the first line can be written before the
    parser (and torch behind the commands) is imported; the parser checks them properly afterwards."""
    fmt, quiet = None, False
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--log-format" and i + 1 < len(argv):
            fmt = argv[i + 1]
        elif arg.startswith("--log-format="):
            fmt = arg.split("=", 1)[1]
    return (fmt if fmt in LOG_FORMATS else None), quiet
