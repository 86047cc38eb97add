"""The leaderboard: ``<dir>/<dataset>.csv`` is the source of truth, ``<dataset>.md`` is rendered from it.

Rows are only ever measured runs. Published numbers live in ``published.yaml`` and are rendered in a
section of their own, labelled as published.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import yaml
from filelock import FileLock

from .atomic import atomic_write_text

COLUMNS = [
    "timestamp",
    "dataset",
    "encoder",
    "reducer",
    "model",
    "seed",
    "valid_auc",
    "valid_logloss",
    "valid_gauc",
    "epochs",
    "best_epoch",
    "encode_seconds",
    "train_seconds",
    "samples_per_second",
    "params",
    "device",
    "oracle_auc",
    "missing_images",
    "missing_titles",
    "status",
    "error",
    "config_hash",
    "config",
    "mmbench_version",
    "git_sha",
]


def csv_path(directory: Path, dataset: str) -> Path:
    return Path(directory) / f"{dataset}.csv"


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt_cell(row.get(k, "")) for k in columns})
    return buf.getvalue()


def _fmt_cell(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(round(value, 6))
    return "" if value is None else value


def append_row(directory: Path, row: dict) -> Path:
    """Append one row under a file lock: read, add, write a temp file, rename, re-render the md."""
    path = csv_path(directory, row["dataset"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        rows = read_rows(path)
        columns = list(COLUMNS)
        for existing in rows[:1]:  # keep columns a newer or older version wrote
            columns += [c for c in existing if c not in columns]
        rows.append(row)
        atomic_write_text(path, _to_csv(rows, columns))
        atomic_write_text(path.with_suffix(".md"), render_markdown(rows, row["dataset"], directory))
    return path


def load_published(directory: Path) -> list[dict]:
    path = Path(directory) / "published.yaml"
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("results", [])


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def render_markdown(rows: list[dict], dataset: str, directory: Path) -> str:
    measured = [r for r in rows if r.get("status", "ok") in ("ok", "")]
    measured.sort(key=lambda r: -_num(r.get("valid_auc")) if not math.isnan(_num(r.get("valid_auc"))) else 1)
    failed = [r for r in rows if r.get("status") not in ("ok", "", None)]
    lines = [f"# Leaderboard: {dataset}", "", "Measured by mmbench (one row per run; rendered from "
             f"`{dataset}.csv`, which is the source of truth).", ""]
    lines += ["| # | encoder | reducer | model | seed | valid AUC | logloss | gAUC | epochs | train s | config |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(measured, 1):
        lines.append(
            f"| {i} | {r['encoder']} | {r['reducer']} | {r['model']} | {r['seed']} | {_num(r['valid_auc']):.4f} "
            f"| {_num(r['valid_logloss']):.4f} | {_num(r.get('valid_gauc')):.4f} | {r['epochs']} "
            f"| {_num(r['train_seconds']):.1f} | `{r['config_hash']}` |"
        )
    oracle = next((r.get("oracle_auc") for r in rows if r.get("oracle_auc")), None)
    if oracle:
        lines += ["", f"Oracle valid AUC of this synthetic dataset (true click probabilities): {_num(oracle):.4f}."]
    if failed:
        lines += ["", "## Failed runs", "", "| encoder | reducer | model | seed | error |", "|---|---|---|---|---|"]
        for r in failed:
            lines.append(f"| {r['encoder']} | {r['reducer']} | {r['model']} | {r['seed']} | {r.get('error', '')} |")
    published = load_published(directory)
    if published:
        lines += ["", "## Published results (not measured by mmbench)", "",
                  "Reported by their authors on the real MicroLens-1M; "
                  + ("not comparable with synthetic data." if "synth" in dataset else "shown for reference."), "",
                  "| system | what it is | valid AUC | test AUC | source |", "|---|---|---|---|---|"]
        for p in published:
            lines.append(
                f"| {p['system']} | {p['description']} | {p.get('valid_auc') or '—'} "
                f"| {p.get('test_auc') or '—'} | {p['source']} |"
            )
    return "\n".join(lines) + "\n"
