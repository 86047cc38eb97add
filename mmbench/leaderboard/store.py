"""The leaderboard's files: ``<dir>/<dataset>.csv`` (one ``Row`` per run) and ``<dir>/<dataset>/preds/``
(each run's valid predictions). Every write happens here, under a file lock, as temp file + rename.

The folder is shared and long-lived: past versions, other tools and people leave things in it. Reading
never lets one damaged file take the folder down (a prediction file that cannot be used is left out
with one note; rows the summary cannot use are left out there), and a rewrite never changes a row it
does not own: rows are kept as lists of fields, whatever their length, and bytes that are not UTF-8
are written back as they were.

What a row's write will replace or open is checked before training (``check_targets``); a row that
still cannot be written is kept by ``pending.py``, never dropped.
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import stat
from pathlib import Path

import numpy as np

from ..files import paths
from ..files.atomic import atomic_path, atomic_write_bytes, clean_leftovers, written_path
from ..contract.components import ValidPredictions
from ..data import mmbench_home
from ..errors import DataError, MMBenchError, note, short, warn
from ..files.locks import file_lock, lock_timeout
from ..files.userpaths import expand
from ..run.row import COLUMNS, NUMBER_COLUMNS, Row
from . import csvfile

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


#: the repository's committed boards, where mmbench runs from a checkout (an editable install); an
#: installed wheel has none, and then nothing is compared
COMMITTED_DIR = Path(__file__).resolve().parents[2] / "leaderboards"


def committed_best(dataset: str) -> tuple[Path, dict] | None:
    """The best ok row of the repository's committed board of ``dataset`` (its CSV and the row), or None
    where there is no such board: a scale for a user's first run."""
    path = csv_path(COMMITTED_DIR, dataset)
    if not path.is_file():
        return None
    def auc(r: dict) -> float:
        try:
            return float(r.get("valid_auc"))
        except (TypeError, ValueError):
            return math.nan

    rows = [r for r in read_rows(path) if is_ok(r) and math.isfinite(auc(r))]
    return (path, max(rows, key=auc)) if rows else None

# A run's config (a JSON column) can be longer than csv's default field limit of 128 KiB, and one such
# row would make the whole file unreadable. The limit only guards against runaway parsing of garbage;
# raising it once, process-wide, is race-free (sweep threads read concurrently).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))

_ERRORS = csvfile.ERRORS


def csv_path(directory: Path, dataset: str) -> Path:
    return paths.inside(directory, dataset, "dataset id", ".csv")


def _read_table(path: Path) -> csvfile.Table:
    """Header and rows as stored (every row as its list of fields, whatever its length), the header
    found past comment lines, in whatever encoding and separator it was saved (mmbench/leaderboard/csvfile.py)."""
    if not path.exists():
        return csvfile.Table()
    if not path.is_file():
        raise DataError(f"leaderboard {short(str(path), 200)} is a folder, not a CSV file; move it away "
                        "(mmbench keeps the rows of this dataset there)")
    return csvfile.parse(path, path.read_bytes())


def dataset_ids(directory: Path) -> list[str]:
    """The datasets of the folder's leaderboard CSVs. A CSV whose header cannot be found (another tool's
    ``notes.csv``) is left out of a listing with a note; when no CSV is left, its refusal is the error."""
    found, refused = [], []
    for path in sorted(Path(directory).glob("*.csv")):
        if not path.is_file():
            continue
        try:
            _read_table(path)
            found.append(path.stem)
        except DataError as exc:
            refused.append(exc)
    if refused and not found:
        raise refused[0]
    for exc in refused:
        note(f"{exc} (it is left out of this listing)")
    return found


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
    table = _read_table(path)
    header = [_text(h) for h in table.header]
    return [_as_dict(header, [_text(f) for f in fields]) for fields in table.rows if fields]  # a blank line is no row


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
    """The CSV's lock, beside the file its rows are written to (a symlinked CSV's target: every user
    linking to one shared file takes the same lock)."""
    return Path(str(written_path(csv)) + ".lock")


def _check_kinds(directory: Path, dataset: str) -> None:
    path = csv_path(directory, dataset)
    for target, role in ((path, "its rows (CSV)"), (lock_path(path), "its lock file")):
        # a symlink is judged by what it points at; one that points at nothing yet is created there
        if os.path.exists(written_path(target)) and not target.is_file():
            raise DataError(f"{short(str(target), 200)} is not a regular file, but mmbench keeps {role} for "
                            f"dataset {dataset} there; move it away or choose another --leaderboard-dir")


#: free space a row's rewrite needs beyond the CSV's own size (the row, its predictions, the renders)
SPACE_MARGIN = 8 * 2**20


def _owner(st: os.stat_result) -> str:
    try:
        import pwd

        return pwd.getpwuid(st.st_uid).pw_name
    except (ImportError, KeyError):
        return f"uid {st.st_uid}"


def _replaceable(path: Path) -> bool:
    """Whether this user may rename a new file over ``path`` (its folder writable, and not a sticky
    folder where another user owns the file)."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    st_dir, st = folder.stat(), path.stat()
    return not (st_dir.st_mode & stat.S_ISVTX) or os.geteuid() in (0, st.st_uid, st_dir.st_uid)


def _writable(path: Path) -> bool:
    """``path`` can be replaced by rename or, failing that, written in place (``atomic.replace_by_rename``)."""
    return not path.exists() or _replaceable(path) or os.access(path, os.W_OK)


def _fix(dataset: str) -> str:
    return f"ask the folder's owner to make it group-writable, or choose another --leaderboard-dir for {dataset}"


def check_targets(directory: Path, dataset: str) -> None:
    """Everything recording a row of ``dataset`` will replace or open can be: the CSV (through a
    symlink, in a sticky folder), its lock, the free space for its rewrite; the predictions folder
    and the md/png renders (a warning: without them the row has no CI, the board is not redrawn).
    Called before any training: a run must not train for an hour and then fail to record its row."""
    from ..files.paths import writable_dir

    lock_timeout()  # a bad MMBENCH_LOCK_TIMEOUT is said now, not when the finished row takes the lock
    _check_kinds(directory, dataset)
    path = csv_path(directory, dataset)
    _read_table(path)  # a CSV whose header cannot be found is refused now, not after training
    real = written_path(path)
    writable_dir(real.parent, f"leaderboard folder of {dataset}")  # where the lock and temp files are created
    for folder in (Path(directory), real.parent, preds_dir(directory, dataset)):
        clean_leftovers(folder)  # temp files of runs killed while writing here
    if real.exists() and not _writable(real):
        raise MMBenchError(f"{short(str(real), 200)} (the rows of {dataset}) belongs to {_owner(real.stat())} and "
                           "you may neither replace it (its folder is sticky or not writable) nor write it; "
                           + _fix(dataset))
    lock = lock_path(path)
    if lock.exists() and not os.access(lock, os.R_OK) and not os.access(lock, os.W_OK):
        raise MMBenchError(f"{short(str(lock), 200)} (the lock of {dataset}'s rows) belongs to {_owner(lock.stat())} "
                           f"and cannot be opened by you; ask its owner to `chmod a+r` it, or choose another "
                           "--leaderboard-dir")
    need = (real.stat().st_size if real.exists() else 0) + SPACE_MARGIN
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(real.parent).free
        if free < need:
            raise MMBenchError(f"{short(str(real.parent), 200)} has {free / 2**20:.1f} MiB free; recording a row of "
                               f"{dataset} rewrites {real.name} and needs about {need / 2**20:.1f} MiB: free disk "
                               "space or choose another --leaderboard-dir")
    _check_side_files(directory, dataset, path)


def _check_side_files(directory: Path, dataset: str, path: Path) -> None:
    preds = preds_dir(directory, dataset)
    existing = next(p for p in (preds, *preds.parents) if p.exists())
    if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        warn(f"{short(str(existing), 200)} is not writable by you: this run's predictions cannot be saved in "
             f"{preds.name}/, so its row will have no CI; {_fix(dataset)}")
    for render in (path.with_suffix(".md"), path.with_suffix(".png")):
        target = written_path(render)
        if target.exists() and not _writable(target):
            warn(f"{short(str(target), 200)} belongs to {_owner(target.stat())} and cannot be rewritten by you: the "
                 f"row will be recorded, but that file not redrawn; {_fix(dataset)}")


@contextlib.contextmanager
def locked(directory: Path, dataset: str):
    """Hold the dataset's lock: no writer changes its CSV or predictions meanwhile."""
    _check_kinds(directory, dataset)
    path = csv_path(directory, dataset)
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(lock, f"the lock of {dataset}'s rows"):
        yield path


def _fmt_cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    return "" if value is None else value


def _write(path: Path, table: csvfile.Table, rows: list[list[str]], new: dict) -> None:
    """The comment lines and ``rows`` kept as they were (a row mmbench does not understand is never
    changed), then ``new``; columns this version writes and the file lacks are added at the end of the
    header. A file saved in another format (UTF-16, ``;``) is written back in mmbench's, every row kept."""
    header = table.header + [c for c in COLUMNS if c not in table.header]
    out = csvfile.Table(header, [*rows, [_fmt_cell(new.get(c, "")) for c in header]], table.preamble)
    atomic_write_bytes(path, csvfile.dump(out))
    if table.converted:
        note(f"{short(str(path), 200)} was saved as {' and '.join(table.converted)}; it is written back as "
             f"UTF-8 comma-separated CSV with all {len(rows)} earlier row(s)")


def append_row(directory: Path, row: Row, valid: ValidPredictions | None = None) -> Path:
    """Append one run's row (and its valid predictions first: a row never points at predictions not yet
    written)."""
    with locked(directory, row.dataset) as path:
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        table = _read_table(path)
        _write(path, table, table.rows, row.as_dict())
    return path


def recorded_status(directory: Path, dataset: str) -> dict[str, str]:
    """config_hash → 'ok' or 'failed' for every combination the CSV holds ('ok' wins)."""
    out: dict[str, str] = {}
    for r in read_rows(csv_path(directory, dataset)):
        h = r.get("config_hash")
        if h and out.get(h) != "ok":
            out[h] = "ok" if is_ok(r) else "failed"
    return out


def find_recorded(directory: Path, config_hash: str) -> tuple[Path, dict] | None:
    """The latest ok row of ``config_hash`` in any board of ``directory`` (its CSV and the row), or None.
    The hash covers the whole resolved config, the dataset section and a Task-1 run's ``task`` included,
    so a match is the same run on the same data: ``mmbench run`` and ``task1`` skip it unless --rerun."""
    found = None
    for path in sorted(Path(directory).glob("*.csv")):
        try:
            rows = read_rows(path)
        except DataError:  # another tool's CSV beside the boards; the run's own board is checked before training
            continue
        for r in rows:
            if r.get("config_hash") == config_hash and is_ok(r):
                if found is None or r.get("timestamp", "") >= found[1].get("timestamp", ""):
                    found = (path, r)
    return found


def record_row(directory: Path, row: Row, valid: ValidPredictions | None = None) -> bool:
    """Record a sweep's combination exactly once: False (nothing written) when its config hash already
    has an ok row; an earlier failed row of the same hash is replaced by this outcome."""
    with locked(directory, row.dataset) as path:
        table = _read_table(path)
        header, rows = table.header, table.rows
        same = [_as_dict(header, fields).get("config_hash") == row.config_hash for fields in rows]
        if any(s and is_ok(_as_dict(header, fields)) for s, fields in zip(same, rows)):
            return False
        if valid is not None:
            save_predictions(directory, row.dataset, row.config_hash, valid)
        _write(path, table, [fields for s, fields in zip(same, rows) if not s], row.as_dict())
    return True


# ------------------------------------------------------------------------- valid predictions


def preds_dir(directory: Path, dataset: str) -> Path:
    return paths.inside(directory, dataset, "dataset id") / "preds"


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
