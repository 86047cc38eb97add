"""Finished rows that could not be written to their leaderboard: never dropped. Whatever stops the write
after training (a folder that became unwritable, a full disk, a lock held past ``MMBENCH_LOCK_TIMEOUT``)
saves the row and its predictions as ``$MMBENCH_HOME/pending/<config_hash>.json`` (``.npz`` beside it),
and ``mmbench leaderboard add FILE`` records it later, once."""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_path, atomic_write_bytes
from ..contract.components import ValidPredictions
from ..data import mmbench_home
from ..errors import DataError, MMBenchError, note, short
from ..output.failures import describe_failure
from ..run.row import COLUMNS, Row
from . import store


@dataclass
class Recorded:
    """Where a finished run's row went: into ``path`` (``written``: False when its hash already had an
    ok row), or, when the CSV could not be written, into the ``pending`` file, for ``reason``."""

    path: Path
    written: bool
    pending: Path | None = None
    reason: str = ""

    def message(self) -> str:
        return (f"the row of run {self.row_hash} was not recorded in {self.path} ({self.reason}); it is saved in "
                f"{self.pending}: add it with `mmbench leaderboard add {shlex.quote(str(self.pending))}`")

    @property
    def row_hash(self) -> str:
        return self.pending.stem if self.pending else ""


def pending_dir() -> Path:
    return mmbench_home() / "pending"


def record_or_keep(directory: Path, row: Row, valid: ValidPredictions | None = None, once: bool = False) -> Recorded:
    """Record ``row`` (``once``: as :func:`record_row`, else :func:`append_row`). Whatever stops that (a
    folder that became unwritable, a full disk, a lock held too long) never loses the finished row: it
    is saved as ``$MMBENCH_HOME/pending/<config_hash>.json`` with its predictions, for
    ``mmbench leaderboard add``."""
    path = store.csv_path(directory, row.dataset)
    try:
        written = store.record_row(directory, row, valid) if once else bool(store.append_row(directory, row, valid))
        return Recorded(path, written)
    except (OSError, MMBenchError) as exc:
        reason = describe_failure(exc)[0]
        return Recorded(path, False, save_pending(directory, row, valid, reason), short(reason, 300))


def save_pending(directory: Path, row: Row, valid: ValidPredictions | None, reason: str) -> Path:
    """The row and its predictions under ``$MMBENCH_HOME/pending`` (or, where that cannot be written
    either, the system's temp folder)."""
    for folder in (pending_dir(), Path(tempfile.gettempdir()) / f"mmbench-pending-{os.getuid()}"):
        target = folder / f"{row.config_hash or 'row'}.json"
        try:
            preds = None
            if valid is not None:
                preds = target.with_suffix(".npz").name
                arrays = {k: np.asarray(v) for k, v in vars(valid).items() if v is not None}
                with atomic_path(target.with_suffix(".npz")) as tmp:
                    with open(tmp, "wb") as f:
                        np.savez(f, **arrays)
            record = {"leaderboard_dir": str(Path(directory).absolute()), "reason": reason, "row": row.as_dict(),
                      "predictions": preds}
            atomic_write_bytes(target, json.dumps(record, indent=1, default=str).encode("utf-8"))
            return target
        except OSError:
            continue
    raise MMBenchError(f"the row of run {row.config_hash} could not be recorded in {directory} ({reason}) nor saved "
                       f"in {pending_dir()}; its model is in the run folder: rerun it where the disk has room")


def add_pending(file: Path, directory: Path | None = None) -> tuple[Path, bool]:
    """Record a row saved by :func:`save_pending` (once: a second add of the same run writes nothing);
    the saved files are removed once it is recorded. Returns (the CSV, whether the row was written)."""
    file = Path(file).expanduser()
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        fields = {k: v for k, v in record["row"].items() if k in COLUMNS}
        row = Row(**fields)
        target = Path(directory).expanduser() if directory else Path(record["leaderboard_dir"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{short(str(file), 200)} is not a row saved by mmbench ({type(exc).__name__}); give the "
                        f".json file named by the run that could not record its row") from None
    if not row.dataset or not row.config_hash:
        raise DataError(f"{short(str(file), 200)} holds no dataset or config hash; it is not a row saved by mmbench")
    valid = None
    if record.get("predictions"):
        preds = file.with_name(record["predictions"])
        try:
            with np.load(preds, allow_pickle=False) as z:
                valid = ValidPredictions(**{k: z[k] for k in z.files})
        except (OSError, ValueError, TypeError):
            note(f"{preds} cannot be read; the row is added without its predictions (no CI)")
    store.check_targets(target, row.dataset)
    written = store.record_row(target, row, valid)
    for leftover in (file, file.with_suffix(".npz")):
        with contextlib.suppress(OSError):
            leftover.unlink()
    return store.csv_path(target, row.dataset), written
