"""What a data root may know beyond the challenge's files: a synthetic world's truth tables.

A generator writes them under ``<root>/synth_truth/`` (the real challenge has none): ``valid.parquet``
and ``test.parquet`` (``ID``/row, ``label``, ``prob``: the true click probability) and ``items.parquet``
(each item's latent series, co-click community, niche). The core reads them here and only here:
the loader puts the test labels on ``MMCTRData.test_labels`` (``known_test_labels``) (so a run can keep test predictions),
and the reports (cold/warm, mechanisms) read probabilities and labels through the same functions.
This module is the contract between a generator and the core; no generator code is imported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from . import schema

TRUTH_DIR = "synth_truth"
#: the co-click mechanism's window: a next click's co-click source is one of the user's last 16 clicks
#: (the generator draws it there; the mechanisms report classifies rows by the same window)
RECENCY_WINDOW = 16


def rows_of_ids(known: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """For each of ``ids``, its row in ``known`` (an ID column, any order), e.g. to read a truth table's
    columns in a split's row order; None when some id is not in ``known``."""
    known = np.asarray(known, dtype=np.int64)
    if len(known) == 0:
        return None if len(ids) else np.zeros(0, dtype=np.int64)
    order = np.argsort(known, kind="stable")
    rows = order[np.clip(np.searchsorted(known[order], ids), 0, len(known) - 1)]
    return rows if np.array_equal(known[rows], ids) else None


def read_test_truth(root: Path, ids: np.ndarray, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns of ``synth_truth/test.parquet`` in the order of the test split's ``ID``s; a DataError
    saying why when the root has none, or one that does not fit its test split."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(root) / TRUTH_DIR / "test.parquet"
    try:
        if not path.is_file():
            raise DataError(f"{path} is missing: only a synthetic world writes its test labels there (the real "
                            f"challenge keeps them)")
        missing = [c for c in ("ID", *columns) if c not in pq.read_schema(path).names]
        if missing:
            raise DataError(f"{path} has no '{missing[0]}' column")
        truth = pq.read_table(path, columns=["ID", *columns])
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"{path} cannot be read ({exc})") from None
    rows = rows_of_ids(truth.column("ID").to_numpy(), ids)
    if rows is None:
        raise DataError(f"{path}: its IDs do not cover the test split's ({Path(root) / schema.TEST.path}); "
                        "it belongs to another data root")
    out = {c: truth.column(c).to_numpy()[rows] for c in columns}
    if "label" in out and not np.isin(out["label"], (0, 1)).all():
        raise DataError(f"{path}: column 'label' holds values other than 0 and 1")
    return out


def known_test_labels(root: Path, ids: np.ndarray | None) -> np.ndarray | None:
    """The test split's labels in its row order where the root holds them (a synthetic world), else
    None: they are a bonus (test predictions kept beside a run), never a reason to fail a load."""
    if ids is None or len(ids) == 0:
        return None
    try:
        return read_test_truth(root, ids, ("label",))["label"].astype(np.int8)
    except DataError:
        return None


def read_valid_probs(root: Path) -> np.ndarray | None:
    """A synthetic root's true click probability per valid row (``synth_truth/valid.parquet``), else None."""
    import pyarrow.parquet as pq

    truth = Path(root) / TRUTH_DIR / "valid.parquet"
    if truth.is_file() and "prob" in pq.read_schema(truth).names:
        return pq.read_table(truth, columns=["prob"]).column(0).to_numpy()
    return None


def items_table(root: Path) -> Path:
    """Where a synthetic world keeps each item's latent series, community and niche."""
    return Path(root) / TRUTH_DIR / "items.parquet"
