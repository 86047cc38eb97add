"""One leaderboard row: the outcome of one run, ok or failed, and the only place that knows the columns.

The CSV's columns are ``Row``'s fields, in order. A new column is a new field with a default (what a
failed row, and rows recorded before the column existed, hold) plus the value the run flow fills in
(``pipeline.make_row``).
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import __version__

Number = float | int | str  # a measured value, or "" where there is none (a failed run, an unknown count)


@lru_cache(maxsize=1)
def git_sha() -> str:
    """The short commit of the mmbench checkout that ran, or "" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() if out.returncode == 0 else ""
    except Exception:
        return ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def encoder_label(configured) -> str:
    """The encoder's name as rows show it, in the encoder's own words (``Encoder.label``)."""
    return configured.component.call("to label itself", configured.create().label, configured.name)


@dataclass
class Row:
    """Fields in CSV column order; every field has a default so that a failed row leaves metrics empty."""

    timestamp: str = field(default_factory=_now)
    dataset: str = ""
    encoder: str = ""
    reducer: str = ""
    model: str = ""
    seed: Number = ""
    valid_auc: Number = ""
    valid_logloss: Number = ""
    valid_gauc: Number = ""
    epochs: Number = ""
    best_epoch: Number = ""
    encode_seconds: Number = ""
    train_seconds: Number = ""
    samples_per_second: Number = ""  # training samples per second of training
    encode_items_per_second: Number = ""  # items per second of encoding ("" when the vectors came from the cache)
    params: Number = ""  # trainable parameters of the model
    peak_memory_mb: Number = ""  # while the model trained: process RSS on CPU, max_memory_allocated on a GPU
    device: str = ""
    device_name: str = ""  # the GPU's name, or the processor's model name
    oracle_auc: Number = ""  # synthetic data only: AUC of the true click probabilities
    missing_images: Number = ""
    missing_titles: Number = ""
    status: str = "ok"  # ok | failed
    error: str = ""  # first line of what failed
    config_hash: str = ""
    config: str = ""  # the resolved config as sorted JSON
    study: str = ""  # mmbench tune: the study this run is a trial of (selected on valid)
    trial: Number = ""  # its trial number in that study
    mmbench_version: str = __version__
    git_sha: str = field(default_factory=git_sha)

    @classmethod
    def of(cls, resolved, dataset_id: str, **values) -> "Row":
        """A row of ``resolved`` (a ``pipeline.Resolved``) on ``dataset_id``, with the measured ``values``."""
        return cls(dataset=dataset_id, encoder=encoder_label(resolved.encoder), reducer=resolved.reducer.name,
                   model=resolved.model.name, seed=resolved.train.seed, config_hash=resolved.config_hash(),
                   config=json.dumps(resolved.recorded_dict(), sort_keys=True, default=str), **values)

    @classmethod
    def failed(cls, resolved, dataset_id: str, error: str) -> "Row":
        return cls.of(resolved, dataset_id, status="failed", error=error[:300])

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


#: the CSV's columns, in order
COLUMNS = [f.name for f in dataclasses.fields(Row)]
#: the columns that hold a measured number ("" when there is none)
NUMBER_COLUMNS = {f.name for f in dataclasses.fields(Row) if f.type in ("Number", Number)}
