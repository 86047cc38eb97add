"""The leaderboard: ``<dir>/<dataset>.csv`` is the source of truth, ``<dataset>.md`` is rendered from it.

Rows are only ever measured runs. Published numbers live in ``published.yaml`` and are rendered in a
section of their own, labelled as published.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from filelock import FileLock

from .atomic import atomic_path, atomic_write_text
from .cache import content_key
from .errors import DataError, MMBenchError
from .stats import delong, paired_test, weighted_ci

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


def _write(path: Path, rows: list[dict], dataset: str, directory: Path) -> None:
    columns = list(COLUMNS)
    for existing in rows[:1]:  # keep columns a newer or older version wrote
        columns += [c for c in existing if c not in columns]
    atomic_write_text(path, _to_csv(rows, columns))
    atomic_write_text(path.with_suffix(".md"), render_markdown(rows, dataset, directory))


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock")


def append_row(directory: Path, row: dict, valid_probs=None, valid_labels=None) -> Path:
    """Append one row under a file lock: read, add, write a temp file, rename, re-render the md."""
    path = csv_path(directory, row["dataset"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        if valid_probs is not None:
            save_predictions(directory, row["dataset"], row["config_hash"], valid_probs, valid_labels)
        rows = read_rows(path)
        rows.append(row)
        _write(path, rows, row["dataset"], directory)
    return path


def recorded_status(directory: Path, dataset: str) -> dict[str, str]:
    """config_hash → 'ok' or 'failed' for every combination the CSV holds ('ok' wins)."""
    out: dict[str, str] = {}
    for r in read_rows(csv_path(directory, dataset)):
        h = r.get("config_hash")
        if h and out.get(h) != "ok":
            out[h] = "ok" if r.get("status", "ok") in ("ok", "") else "failed"
    return out


def record_row(directory: Path, row: dict, valid_probs=None, valid_labels=None) -> bool:
    """Record a sweep's combination exactly once: False (nothing written) when its config hash already
    has an ok row; an earlier failed row of the same hash is replaced by this outcome."""
    path = csv_path(directory, row["dataset"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        rows = read_rows(path)
        same = [r for r in rows if r.get("config_hash") == row["config_hash"]]
        if any(r.get("status", "ok") in ("ok", "") for r in same):
            return False
        if valid_probs is not None:  # before the row: a row never points at predictions not yet written
            save_predictions(directory, row["dataset"], row["config_hash"], valid_probs, valid_labels)
        rows = [r for r in rows if r.get("config_hash") != row["config_hash"]] + [row]
        _write(path, rows, row["dataset"], directory)
    return True


# ------------------------------------------------------------------------- valid predictions


def preds_dir(directory: Path, dataset: str) -> Path:
    return Path(directory) / dataset / "preds"


def save_predictions(directory: Path, dataset: str, config_hash: str, probs, labels) -> None:
    """``<dir>/<dataset>/preds/<config_hash>.npy`` (float32, valid row order) beside the valid labels."""
    folder = preds_dir(directory, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, dtype=np.int8)
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
            np.save(f, np.asarray(probs, dtype=np.float32))


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


# ------------------------------------------------------------------ one row per combination


def _combo_key(config_json: str) -> str:
    """Hash of a run's config without its seed: the runs of one combination share it."""
    try:
        cfg = json.loads(config_json)
    except (TypeError, ValueError):
        return ""
    cfg.get("train", {}).pop("seed", None)
    return content_key(cfg)[:12]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = json.dumps(v, default=str) if isinstance(v, (list, tuple)) else v
    return out


@dataclass
class Combo:
    """One combination (encoder x reducer x model x hyper-parameters) over its seeds."""

    key: str
    encoder: str
    reducer: str
    model: str
    flat: dict
    runs: list[dict]
    variant: str = ""
    ci: tuple[float, float] | None = None
    delta: float | None = None
    p_value: float | None = None
    is_reference: bool = False

    @property
    def aucs(self) -> np.ndarray:
        return np.array([_num(r["valid_auc"]) for r in self.runs])

    @property
    def mean(self) -> float:
        return float(np.mean(self.aucs))

    @property
    def std(self) -> float:
        return float(np.std(self.aucs, ddof=1)) if len(self.runs) > 1 else float("nan")

    @property
    def seeds(self) -> list[str]:
        return [str(r["seed"]) for r in self.runs]

    @property
    def reducer_label(self) -> str:
        dim = self.flat.get("reducer.dim")
        return f"{self.reducer}-{dim}" if dim not in (None, "") else self.reducer

    @property
    def label(self) -> str:
        base = f"{self.encoder} / {self.reducer_label} / {self.model}"
        return f"{base} [{self.variant}]" if self.variant else base

    def summary(self) -> dict:
        return {
            "combo": self.key, "encoder": self.encoder, "reducer": self.reducer_label, "model": self.model,
            "variant": self.variant, "n_seeds": len(self.runs), "seeds": " ".join(self.seeds),
            "valid_auc_mean": round(self.mean, 6), "valid_auc_std": _round(self.std),
            "ci95_low": _round(self.ci[0]) if self.ci else "", "ci95_high": _round(self.ci[1]) if self.ci else "",
            "delta_vs_reference": _round(self.delta), "p_value": _round(self.p_value, 8),
            "reference": self.is_reference,
            "valid_gauc_mean": _round(float(np.mean([_num(r.get("valid_gauc")) for r in self.runs]))),
            "valid_logloss_mean": _round(float(np.mean([_num(r.get("valid_logloss")) for r in self.runs]))),
            "config_hashes": " ".join(r["config_hash"] for r in self.runs),
        }


def _round(value, digits: int = 6):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return round(float(value), digits)


@dataclass
class Summary:
    dataset: str
    combos: list[Combo]
    reference: Combo | None
    reference_reason: str
    failed: list[dict]
    has_stats: bool


#: The official challenge baseline's setting as mmbench reproduces it (configs/baseline_din.yaml).
BASELINE = ("precomputed", "pca", "din")


def _latest_ok_per_hash(rows: list[dict]) -> list[dict]:
    latest: dict[str, dict] = {}
    for r in rows:  # the CSV is in recording order: the last ok row of a hash wins
        if r.get("status", "ok") in ("ok", "") and not math.isnan(_num(r.get("valid_auc"))):
            latest[r["config_hash"]] = r
    return list(latest.values())


def _variants(combos: list[Combo]) -> None:
    """Tell apart combinations with the same component names by the parameters where they differ."""
    by_names: dict[tuple, list[Combo]] = {}
    for c in combos:
        by_names.setdefault((c.encoder, c.reducer_label, c.model), []).append(c)
    for group in by_names.values():
        if len(group) < 2:
            continue
        keys = sorted({k for c in group for k in c.flat})
        differing = [k for k in keys if len({json.dumps(c.flat.get(k), default=str) for c in group}) > 1]
        for c in group:
            c.variant = ", ".join(f"{k}={c.flat.get(k)}" for k in differing)


def find_combo(combos: list[Combo], ref: str) -> Combo | None:
    ref_l = ref.strip().lower()
    for c in combos:
        if c.key == ref_l or any(r["config_hash"] == ref_l for r in c.runs):
            return c
    for c in combos:
        names = {c.label.lower(), f"{c.encoder}/{c.reducer}/{c.model}".lower(),
                 f"{c.encoder}/{c.reducer_label}/{c.model}".lower(), c.label.lower().replace(" ", "")}
        if ref_l in names or ref_l.replace(" ", "") in {n.replace(" ", "") for n in names}:
            return c
    return None


def summarise(rows: list[dict], dataset: str, directory: Path, reference: str | None = None) -> Summary:
    runs = _latest_ok_per_hash(rows)
    combos: dict[str, Combo] = {}
    for r in runs:
        key = _combo_key(r.get("config", ""))
        if key not in combos:
            try:
                cfg = json.loads(r["config"])
                cfg.get("train", {}).pop("seed", None)
            except (TypeError, ValueError):
                cfg = {}
            combos[key] = Combo(key, r["encoder"], r["reducer"], r["model"], _flat(cfg), [])
        combos[key].runs.append(r)
    ordered = sorted(combos.values(), key=lambda c: -c.mean)
    for c in ordered:
        c.runs.sort(key=lambda r: _num(r["seed"]))
    _variants(ordered)

    ref, reason = None, ""
    if reference:
        ref = find_combo(ordered, reference)
        if ref is None:
            raise MMBenchError(f"--reference {reference!r} matches no combination of {dataset}; give a config "
                               f"hash, a combination key or 'encoder/reducer/model' from the table")
        reason = f"chosen with --reference {reference}"
    else:
        ref = next((c for c in ordered if (c.encoder, c.reducer, c.model) == BASELINE), None)
        reason = "the official challenge baseline's setting (precomputed / pca / din)" if ref else ""
        if ref is None and ordered:
            ref, reason = ordered[0], "the best measured combination (no baseline row precomputed / pca / din yet)"
    if ref is not None:
        ref.is_reference = True

    labels, preds = load_predictions(directory, dataset, [r["config_hash"] for r in runs])
    has_stats = False
    usable = [c for c in ordered if all(r["config_hash"] in preds for r in c.runs)]
    if labels is not None and usable and 0 < labels.sum() < len(labels) - 1:
        index = {r["config_hash"]: i for i, r in enumerate(r for c in usable for r in c.runs)}
        matrix = np.stack([preds[h] for h in index])
        aucs, cov = delong(labels, matrix)
        has_stats = True

        def weights(c: Combo) -> np.ndarray:
            w = np.zeros(len(index))
            for r in c.runs:
                w[index[r["config_hash"]]] = 1.0 / len(c.runs)
            return w

        for c in usable:
            _, lo, hi = weighted_ci(aucs, cov, weights(c))
            c.ci = (lo, hi)
            if ref is not None and ref in usable and c is not ref:
                c.delta, c.p_value = paired_test(aucs, cov, weights(c) - weights(ref))
    failed = [r for r in rows if r.get("status") not in ("ok", "", None)]
    return Summary(dataset, ordered, ref, reason, failed, has_stats)


def render(directory: Path, dataset: str, reference: str | None = None) -> Path:
    """Re-render ``<dataset>.md`` and ``<dataset>.png`` from the CSV (under the lock)."""
    path = csv_path(directory, dataset)
    with _lock(path):
        rows = read_rows(path)
        summary = summarise(rows, dataset, Path(directory), reference)
        from .chart import write_chart

        oracle = next((_num(r["oracle_auc"]) for r in rows if r.get("oracle_auc")), None)
        write_chart(path.with_suffix(".png"), summary, load_published(directory), oracle)
        atomic_write_text(path.with_suffix(".md"), render_markdown(rows, dataset, directory, reference, summary))
    return path.with_suffix(".md")


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


def _fmt(value, spec: str = ".4f", empty: str = "—") -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return empty
    return format(float(value), spec)


def _fmt_p(p) -> str:
    if p is None:
        return "—"
    return "< 1e-4" if p < 1e-4 else f"{p:.4f}"


def render_markdown(rows: list[dict], dataset: str, directory: Path, reference: str | None = None,
                    summary: Summary | None = None) -> str:
    summary = summary or summarise(rows, dataset, Path(directory), reference)
    lines = [f"# Leaderboard: {dataset}", "",
             f"Measured by mmbench, rendered from `{dataset}.csv` (the source of truth). One row per combination "
             "(encoder × reducer × model × hyper-parameters): valid AUC as mean ± std over its seeds; "
             "95 % CI: DeLong, of that seed-mean, from the valid predictions in "
             f"`{dataset}/preds/`; Δ and p: paired DeLong test against the reference (★) on the same valid rows.",
             "", f"![valid AUC per combination, 95 % CI]({dataset}.png)", ""]
    if summary.reference is not None:
        lines += [f"Reference ★: {summary.reference.label} — {summary.reference_reason}.", ""]
    lines += ["| # | encoder | reducer | model | variant | seeds | valid AUC (mean ± std) | 95 % CI | Δ vs ★ | p | "
              "gAUC | logloss | combination |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, c in enumerate(summary.combos, 1):
        std = f" ± {c.std:.4f}" if len(c.runs) > 1 else ""
        ci = f"[{c.ci[0]:.4f}, {c.ci[1]:.4f}]" if c.ci else "—"
        delta = "★" if c.is_reference else _fmt(c.delta, "+.4f")
        gauc = float(np.mean([_num(r.get("valid_gauc")) for r in c.runs]))
        loss = float(np.mean([_num(r.get("valid_logloss")) for r in c.runs]))
        lines.append(f"| {i} | {c.encoder} | {c.reducer_label} | {c.model} | {c.variant or ''} | {len(c.runs)} "
                     f"| {c.mean:.4f}{std} | {ci} | {delta} | {'' if c.is_reference else _fmt_p(c.p_value)} "
                     f"| {_fmt(gauc)} | {_fmt(loss)} | `{c.key}` |")
    if summary.combos and not summary.has_stats:
        lines += ["", "CIs and p-values need the runs' saved valid predictions; none were found for these rows."]
    oracle = next((r.get("oracle_auc") for r in rows if r.get("oracle_auc")), None)
    if oracle:
        lines += ["", f"Oracle valid AUC of this synthetic dataset (true click probabilities): {_num(oracle):.4f}."]
    runs = sorted(_latest_ok_per_hash(rows), key=lambda r: -_num(r.get("valid_auc")))
    if runs:
        lines += ["", "## Runs", "", "| encoder | reducer | model | seed | valid AUC | logloss | gAUC | epochs "
                  "| train s | config |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in runs:
            lines.append(
                f"| {r['encoder']} | {r['reducer']} | {r['model']} | {r['seed']} | {_num(r['valid_auc']):.4f} "
                f"| {_fmt(_num(r.get('valid_logloss')))} | {_fmt(_num(r.get('valid_gauc')))} | {r.get('epochs', '')} "
                f"| {_fmt(_num(r.get('train_seconds')), '.1f')} | `{r['config_hash']}` |")
    if summary.failed:
        lines += ["", "## Failed runs", "", "| encoder | reducer | model | seed | error | config |",
                  "|---|---|---|---|---|---|"]
        for r in summary.failed:
            error = str(r.get("error", "")).replace("|", "\\|")
            lines.append(f"| {r['encoder']} | {r['reducer']} | {r['model']} | {r['seed']} | {error} "
                         f"| `{r.get('config_hash', '')}` |")
    published = load_published(directory)
    if published:
        lines += ["", "## Published results (not measured by mmbench)", "",
                  "Reported by their authors on the real MicroLens-1M; "
                  + ("not comparable with synthetic data." if "synth" in dataset or dataset == "fake"
                     else "shown for reference, apart from the measured rows."), "",
                  "| system | what it is | valid AUC | test AUC | source | mmbench config |",
                  "|---|---|---|---|---|---|"]
        for p in published:
            config = f"`{p['config']}`" if p.get("config") else "—"
            lines.append(
                f"| {p['system']} *(published)* | {p['description']} | {p.get('valid_auc') or '—'} "
                f"| {p.get('test_auc') or '—'} | {p['source']} | {config} |"
            )
    return "\n".join(lines) + "\n"
