"""The leaderboard's files: ``<dir>/<dataset>.csv`` (one ``Row`` per run) and ``<dir>/<dataset>/preds/``
(each run's valid predictions). Every write happens here, under a file lock, as temp file + rename.

The folder is shared and long-lived: past versions, other tools and people leave things in it. Reading
never lets one damaged file take the folder down (a prediction file that cannot be used is left out
with one note; rows the summary cannot use are left out there), and a rewrite never changes a row it
does not own: rows are kept as lists of fields, whatever their length, and bytes that are not UTF-8
are written back as they were.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..atomic import atomic_path, atomic_write_bytes
from ..components import ValidPredictions
from ..data import mmbench_home
from ..errors import DataError, note, short, warn
from ..userpaths import expand
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
    return expand(given, "--leaderboard-dir") if given else default_dir()

# A run's config (a JSON column) can be longer than csv's default field limit of 128 KiB, and one such
# row would make the whole file unreadable. The limit only guards against runaway parsing of garbage;
# raising it once, process-wide, is race-free (sweep threads read concurrently).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))

#: text encoding of the CSV: a BOM (a spreadsheet's save) is skipped; bytes that are not UTF-8 are kept
#: as they are through a read and a rewrite
_ENCODING, _ERRORS = "utf-8-sig", "surrogateescape"


def csv_path(directory: Path, dataset: str) -> Path:
    return Path(directory) / f"{dataset}.csv"


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) exactly as stored: every row as its list of fields, whatever its length."""
    if not path.exists():
        return [], []
    if not path.is_file():
        raise DataError(f"leaderboard {short(str(path), 200)} is a folder, not a CSV file; move it away "
                        "(mmbench keeps the rows of this dataset there)")
    with open(path, newline="", encoding=_ENCODING, errors=_ERRORS) as f:
        lines = list(csv.reader(f))
    return (lines[0], lines[1:]) if lines else ([], [])


def _as_dict(header: list[str], fields: list[str]) -> dict:
    """A row as a dict: a short row padded with "", fields beyond the header under the key ``None``."""
    row = dict(zip(header, fields))
    for name in header[len(fields):]:
        row.setdefault(name, "")
    if len(fields) > len(header):
        row[None] = fields[len(header):]
    return row


def _text(value: str) -> str:
    """A field as text to show: bytes that were not UTF-8 become U+FFFD (only a rewrite keeps them)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", _ERRORS).decode("utf-8", "replace")


def read_rows(path: Path) -> list[dict]:
    """The recorded rows: one dict of strings per run, in recording order."""
    header, rows = _read_table(path)
    header = [_text(h) for h in header]
    return [_as_dict(header, [_text(f) for f in fields]) for fields in rows if fields]  # a blank line is no row


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


def lock_path(csv: Path) -> Path:
    return Path(str(csv) + ".lock")


def check_targets(directory: Path, dataset: str) -> None:
    """The dataset's CSV and lock paths can hold files. Called before any training (a folder in their
    place would otherwise only be found when the finished run is recorded) and by every writer."""
    path = csv_path(directory, dataset)
    for target, role in ((path, "its rows (CSV)"), (lock_path(path), "its lock file")):
        if os.path.lexists(target) and not target.is_file():
            raise DataError(f"{short(str(target), 200)} is not a regular file, but mmbench keeps {role} for "
                            f"dataset {dataset} there; move it away or choose another --leaderboard-dir")


@contextlib.contextmanager
def locked(directory: Path, dataset: str):
    """Hold the dataset's lock: no writer changes its CSV or predictions meanwhile."""
    check_targets(directory, dataset)
    path = csv_path(directory, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(path))):
        yield path


def _fmt_cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    return "" if value is None else value


def _write(path: Path, header: list[str], rows: list[list[str]], new: dict) -> None:
    """The rows kept as they were (a row mmbench does not understand is never changed), then ``new``;
    columns this version writes and the file lacks are added at the end of the header."""
    header = header + [c for c in COLUMNS if c not in header]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([header, *rows, [_fmt_cell(new.get(c, "")) for c in header]])
    atomic_write_bytes(path, buf.getvalue().encode("utf-8", _ERRORS))


def append_row(directory: Path, row: Row, valid: ValidPredictions | None = None) -> Path:
    """Append one run's row (and its valid predictions first: a row never points at predictions not yet
    written)."""
    with locked(directory, row.dataset) as path:
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        header, rows = _read_table(path)
        _write(path, header, rows, row.as_dict())
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
        header, rows = _read_table(path)
        same = [_as_dict(header, fields).get("config_hash") == row.config_hash for fields in rows]
        if any(s and is_ok(_as_dict(header, fields)) for s, fields in zip(same, rows)):
            return False
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        _write(path, header, [fields for s, fields in zip(same, rows) if not s], row.as_dict())
    return True


# ------------------------------------------------------------------------- valid predictions


def preds_dir(directory: Path, dataset: str) -> Path:
    return Path(directory) / dataset / "preds"


def _load_array(path: Path) -> np.ndarray | None:
    """A saved 1-d numeric array without NaN, or None for anything else (damaged, pickled, foreign)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype.kind not in "biuf":
        return None
    return array if not np.isnan(array.astype(np.float64)).any() else None


def _labels(path: Path) -> np.ndarray | None:
    labels = _load_array(path)
    return labels if labels is not None and np.isin(labels, (0, 1)).all() else None


def save_predictions(directory: Path, dataset: str, config_hash: str, valid: ValidPredictions) -> None:
    """``<dir>/<dataset>/preds/<config_hash>.npy`` (float32, valid row order) beside the valid labels
    (``valid_labels.npy``); a run that also scored a labelled test split adds ``<config_hash>.test.npy``
    beside ``test_labels.npy``.

    Predictions only feed the CIs: when they cannot be saved (the folder is blocked, or the labels
    there are of other data) the run's row is still recorded, with a warning that it has no CI.
    """
    folder = preds_dir(directory, dataset)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not _save_split(folder, dataset, directory, "valid", config_hash, valid.probs, valid.labels):
            return
        if valid.test_probs is not None and valid.test_labels is not None:
            _save_split(folder, dataset, directory, "test", config_hash, valid.test_probs, valid.test_labels)
    except OSError as exc:
        warn(f"the valid predictions cannot be saved in {folder} ({short(exc.strerror or str(exc), 80)}); this "
             "run's row is recorded without them (no CI)")


#: per split: (labels file, suffix of a run's predictions file)
SPLITS = {"valid": ("valid_labels.npy", ".npy"), "test": ("test_labels.npy", ".test.npy")}


def _save_split(folder: Path, dataset: str, directory: Path, split: str, config_hash: str, probs, labels) -> bool:
    """One split's labels (checked against those saved before) and this run's predictions of it."""
    label_name, suffix = SPLITS[split]
    labels = np.asarray(labels, dtype=np.int8)
    label_path = folder / label_name
    old = _labels(label_path) if label_path.exists() else None
    if old is not None and (old.shape != labels.shape or not np.array_equal(old, labels)):
        warn(f"{label_path}: the {split} labels differ from those of the runs recorded before, so the dataset "
             f"'{dataset}' changed under the same id; this run's row is recorded without its {split} predictions "
             f"(no CI): move {csv_path(directory, dataset).name} and {folder} away to start a new leaderboard")
        return False
    if old is None:
        if label_path.exists():
            note(f"{label_path} could not be read as {split} labels; it was replaced by this run's")
        with atomic_path(label_path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, labels)
    with atomic_path(folder / f"{config_hash}{suffix}") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(probs, dtype=np.float32))
    return True


def load_predictions(directory: Path, dataset: str, hashes: list[str], split: str = "valid"):
    """(labels, {hash: probs}) of ``split`` for the hashes whose predictions are readable and match the labels."""
    folder = preds_dir(directory, dataset)
    label_name, suffix = SPLITS[split]
    label_path = folder / label_name
    if not label_path.is_file():
        return None, {}
    labels = _labels(label_path)
    if labels is None:
        note(f"{label_path} is not a saved array of 0/1 labels; CIs and p-values are left out")
        return None, {}
    out, unusable = {}, []
    for h in hashes:
        p = folder / f"{h}{suffix}"
        if not p.is_file():
            continue
        probs = _load_array(p)
        if probs is not None and probs.shape == labels.shape:
            out[h] = probs
        else:
            unusable.append(p.name)
    if unusable:
        note(f"{len(unusable)} prediction file(s) in {folder} are damaged or do not match the {split} labels and are "
             f"left out of the CIs: {short(', '.join(unusable), 120)}")
    return labels, out
