"""The leaderboard's files: ``<dir>/<dataset>.csv`` (one ``Row`` per run) and ``<dir>/<dataset>/preds/``
(each run's valid predictions). Every write happens here, under a file lock, as temp file + rename."""
from __future__ import annotations

import contextlib
import csv
import io
import math
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..atomic import atomic_path, atomic_write_text
from ..components import ValidPredictions
from ..data import mmbench_home
from ..errors import DataError
from ..row import COLUMNS, NUMBER_COLUMNS, Row

#: Task-1 rows (``mmbench task1``) go to ``<dataset>-task1``, never beside the Task-2 rows of the same data
TASK1_SUFFIX = "-task1"


def task_dataset_id(dataset_id: str, task: int) -> str:
    return dataset_id + TASK1_SUFFIX if task == 1 else dataset_id


def task_of_dataset(dataset_id: str) -> int:
    return 1 if dataset_id.endswith(TASK1_SUFFIX) else 2


def default_dir() -> Path:
    """Where a user's rows go unless ``--leaderboard-dir`` says otherwise: ``$MMBENCH_HOME/leaderboards``.
    The repository's committed ``leaderboards/`` is written only when named."""
    return mmbench_home() / "leaderboards"


def leaderboard_dir(given: str | Path | None) -> Path:
    return Path(given).expanduser() if given else default_dir()


def csv_path(directory: Path, dataset: str) -> Path:
    return Path(directory) / f"{dataset}.csv"


def read_rows(path: Path) -> list[dict]:
    """The recorded rows as stored: one dict of strings per run, in recording order."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def is_ok(row: dict) -> bool:
    return row.get("status") in ("ok", "", None)


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return None
    return int(text) if text.strip().lstrip("-").isdigit() else value


def typed_row(row: dict) -> dict:
    """A stored row for JSON: numbers as numbers, a missing number as None (null), text as text."""
    return {k: (None if v in ("", None) else _number(v)) if k in NUMBER_COLUMNS else v for k, v in row.items()}


@contextlib.contextmanager
def locked(directory: Path, dataset: str):
    """Hold the dataset's lock: no writer changes its CSV or predictions meanwhile."""
    path = csv_path(directory, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        yield path


def _fmt_cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    return "" if value is None else value


def _write(path: Path, rows: list[dict]) -> None:
    columns = list(COLUMNS)
    for existing in rows[:1]:  # keep columns a newer or older version wrote
        columns += [c for c in existing if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt_cell(row.get(k, "")) for k in columns})
    atomic_write_text(path, buf.getvalue())


def append_row(directory: Path, row: Row, valid: ValidPredictions | None = None) -> Path:
    """Append one run's row (and its valid predictions first: a row never points at predictions not yet
    written)."""
    with locked(directory, row.dataset) as path:
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        _write(path, read_rows(path) + [row.as_dict()])
    return path


def recorded_status(directory: Path, dataset: str) -> dict[str, str]:
    """config_hash → 'ok' or 'failed' for every combination the CSV holds ('ok' wins)."""
    out: dict[str, str] = {}
    for r in read_rows(csv_path(directory, dataset)):
        h = r.get("config_hash")
        if h and out.get(h) != "ok":
            out[h] = "ok" if is_ok(r) else "failed"
    return out


def record_row(directory: Path, row: Row, valid: ValidPredictions | None = None) -> bool:
    """Record a sweep's combination exactly once: False (nothing written) when its config hash already
    has an ok row; an earlier failed row of the same hash is replaced by this outcome."""
    with locked(directory, row.dataset) as path:
        rows = read_rows(path)
        if any(is_ok(r) for r in rows if r.get("config_hash") == row.config_hash):
            return False
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        _write(path, [r for r in rows if r.get("config_hash") != row.config_hash] + [row.as_dict()])
    return True


# ------------------------------------------------------------------------- valid predictions


def preds_dir(directory: Path, dataset: str) -> Path:
    return Path(directory) / dataset / "preds"


def save_predictions(directory: Path, dataset: str, config_hash: str, valid: ValidPredictions) -> None:
    """``<dir>/<dataset>/preds/<config_hash>.npy`` (float32, valid row order) beside the valid labels."""
    folder = preds_dir(directory, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(valid.labels, dtype=np.int8)
    label_path = folder / "valid_labels.npy"
    if label_path.exists():
        old = np.load(label_path)
        if old.shape != labels.shape or not np.array_equal(old, labels):
            raise DataError(
                f"{label_path}: the valid labels differ from those of the runs recorded before; the dataset "
                f"'{dataset}' changed under the same id: move {csv_path(directory, dataset)} and {folder} away")
    else:
        with atomic_path(label_path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, labels)
    with atomic_path(folder / f"{config_hash}.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(valid.probs, dtype=np.float32))


def load_predictions(directory: Path, dataset: str, hashes: list[str]):
    """(labels, {hash: probs}) for the hashes whose predictions exist and match the labels' length."""
    folder = preds_dir(directory, dataset)
    label_path = folder / "valid_labels.npy"
    if not label_path.exists():
        return None, {}
    labels = np.load(label_path)
    out = {}
    for h in hashes:
        p = folder / f"{h}.npy"
        if p.exists():
            probs = np.load(p)
            if probs.shape == labels.shape:
                out[h] = probs
    return labels, out
