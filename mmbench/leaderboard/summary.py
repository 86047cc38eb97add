"""One entry per combination (encoder x reducer x model x hyper-parameters) over its seeds: mean ± std
of the valid AUC, DeLong CI of that mean from the saved valid predictions, paired test against a
reference. Reads the store, writes nothing."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from importlib import resources
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..files import yamlfile
from ..run import config as config_mod
from ..files.cache import content_key
from ..errors import MMBenchError, note, short
from ..report.stats import delong, paired_test, weighted_ci
from . import store
from .trials import TrialNote, trial_view

#: The official challenge baseline's components ...
#: ... and its whole setting: configs/baseline_din.yaml and configs/published/official_baseline.yaml
#: resolved (every default filled in), flattened, without the dataset section and the train keys that
#: tune nothing (shipped with the package: configs/ is not; tests/test_leaderboard_stats.py keeps it true)
BASELINE_CONFIGS = "baselines.yaml"


def num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _round(value, digits: int = 6) -> float | None:
    """A number for a record, None where there is none (JSON null, an empty CSV cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _config_without_seed(config_json) -> dict | None:
    """A row's config (JSON) without ``train.seed``; None when the column holds no config object."""
    try:
        cfg = json.loads(config_json)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(cfg, dict):
        return None
    if isinstance(cfg.get("train"), dict):
        cfg["train"].pop("seed", None)
    return cfg


def combination_key(row: dict) -> str:
    """What the runs of one combination share: the hash of their config without its seed (a row
    without a config object is a combination alone, under its config hash)."""
    cfg = _config_without_seed(row.get("config"))
    return content_key(cfg)[:12] if cfg is not None else row["config_hash"]


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
class Combination:
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
    trial: TrialNote | None = None  # a trial of a tuning study (then selected on valid, if its best)

    @property
    def aucs(self) -> np.ndarray:
        return np.array([num(r["valid_auc"]) for r in self.runs])

    @property
    def mean(self) -> float:
        return float(np.mean(self.aucs))

    @property
    def std(self) -> float:
        return float(np.std(self.aucs, ddof=1)) if len(self.runs) > 1 else float("nan")

    def mean_of(self, column: str) -> float:
        return float(np.mean([num(r.get(column)) for r in self.runs]))

    @property
    def seeds(self) -> list[str]:
        return [str(r["seed"]) for r in self.runs]

    @property
    def reducer_label(self) -> str:
        """The reducer with its size: its output width (``pca-128``), or code positions x codes per
        position for a reducer of integer codes (``rq-3x64``: levels; ``vq-8x256``: groups sharing one
        codebook). Labels only: the config hash is the run's whole config, whatever is shown here."""
        get = self.flat.get
        if get("reducer.dim") not in (None, ""):
            return f"{self.reducer}-{get('reducer.dim')}"
        if get("reducer.codes") not in (None, ""):
            positions = next((get(k) for k in ("reducer.levels", "reducer.groups") if get(k) not in (None, "")), 1)
            return f"{self.reducer}-{positions}x{get('reducer.codes')}"
        return self.reducer

    @property
    def label(self) -> str:
        base = f"{self.encoder} / {self.reducer_label} / {self.model}"
        return f"{base} [{self.variant}]" if self.variant else base

    def cost(self, column: str) -> float | str | None:
        """A cost column over the seeds: the mean of a number (over the runs with a finite one), the
        distinct values of a text (device names); None where no run has one."""
        values = [v for v in (str(r.get(column, "") or "").strip() for r in self.runs) if v]
        if column in NUMERIC_COSTS:
            numbers = [x for x in map(num, values) if math.isfinite(x)]
            return float(np.mean(numbers)) if numbers else None
        return " / ".join(dict.fromkeys(values)) or None

    def record(self) -> dict:
        """The combination as one flat record (``mmbench leaderboard --format csv/json``)."""
        return {
            "combo": self.key, "encoder": self.encoder, "reducer": self.reducer_label, "model": self.model,
            "variant": self.variant, "n_seeds": len(self.runs), "seeds": " ".join(self.seeds),
            "valid_auc_mean": round(self.mean, 6), "valid_auc_std": _round(self.std),
            "ci95_low": _round(self.ci[0]) if self.ci else None, "ci95_high": _round(self.ci[1]) if self.ci else None,
            "delta_vs_reference": _round(self.delta), "p_value": _round(self.p_value, 8),
            "reference": self.is_reference,
            "valid_gauc_mean": _round(self.mean_of("valid_gauc")),
            "valid_logloss_mean": _round(self.mean_of("valid_logloss")),
            "config_hashes": " ".join(r["config_hash"] for r in self.runs),
            **{column: _round(v) if isinstance(v, float) else v
               for column, v in ((c, self.cost(c)) for c, _, _ in COST_COLUMNS)},
            "trial_of": self.trial.text() if self.trial else "",
        }


#: What each result cost, per run and averaged per combination: (Row column, heading, number format).
COST_COLUMNS = [
    ("samples_per_second", "train samples/s", ",.0f"),
    ("encode_items_per_second", "encode items/s", ",.0f"),
    ("peak_memory_mb", "peak memory MB", ",.0f"),
    ("train_seconds", "train s", ",.1f"),
    ("device_name", "device", ""),
]

NUMERIC_COSTS = {column for column, _, spec in COST_COLUMNS if spec}

RECORD_COLUMNS = ["combo", "encoder", "reducer", "model", "variant", "n_seeds", "seeds", "valid_auc_mean",
                  "valid_auc_std", "ci95_low", "ci95_high", "delta_vs_reference", "p_value", "reference",
                  "valid_gauc_mean", "valid_logloss_mean", "config_hashes"] + [c for c, _, _ in COST_COLUMNS] + [
                  "trial_of"]


@dataclass
class PairedStats:
    """DeLong AUCs of the runs with saved valid predictions, and their covariance (same valid rows):
    what any paired test between combinations needs (the html page re-runs it in the browser)."""

    hashes: list[str]
    aucs: np.ndarray
    cov: np.ndarray


@dataclass
class Summary:
    dataset: str
    combinations: list[Combination]
    reference: Combination | None
    reference_reason: str
    runs: list[dict]  # the latest ok row of each config hash, best first
    failed: list[dict]
    has_stats: bool
    oracle_auc: float | None = None  # synthetic data only (rows carry the oracle of their data)
    published: list[dict] = field(default_factory=list)
    paired: PairedStats | None = None

    def cost_columns(self) -> list[tuple[str, str, str]]:
        """The cost columns some run of this leaderboard has (rows recorded before they existed have none)."""
        return [c for c in COST_COLUMNS if any(str(r.get(c[0], "")).strip() for r in self.runs)]

    @property
    def synthetic(self) -> bool:
        """Synthetic data has a known oracle; published (real-data) numbers are not comparable with it."""
        return self.oracle_auc is not None


#: what a row needs to be summarised (a hand-edited or foreign row may lack any of it)
NAMES = ("config_hash", "encoder", "reducer", "model")


def usable(row: dict) -> bool:
    """An ok row the summary can use: named, hashed, with a valid AUC in [0, 1]."""
    auc = num(row.get("valid_auc"))
    return all(isinstance(row.get(k), str) and row[k] for k in NAMES) and 0.0 <= auc <= 1.0


def latest_ok_per_hash(rows: list[dict]) -> list[dict]:
    latest: dict[str, dict] = {}
    for r in rows:  # the CSV is in recording order: the last ok row of a hash wins
        if store.is_ok(r) and usable(r):
            latest[r["config_hash"]] = r
    return list(latest.values())


def _note_unusable(rows: list[dict], dataset: str) -> None:
    bad = [i for i, r in enumerate(rows, 1) if store.is_ok(r) and not usable(r)]
    if bad:
        note(f"leaderboard {dataset}: {len(bad)} row(s) marked ok lack {'/'.join(NAMES)} or a valid_auc in [0, 1] "
             f"(row(s) {short(', '.join(map(str, bad)), 60)} after the header) and are left out of the summary")


def _shown(value) -> str:
    """A parameter value as a variant shows it: a tuned float's 17 digits as 4 significant ones."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _variants(combinations: list[Combination]) -> None:
    """Tell apart combinations with the same component names by the parameters where they differ. A
    parameter a run's config does not record (one added to its component later, at its default: see
    ``mmbench.contract.params.added_later``) is not shown for it."""
    by_names: dict[tuple, list[Combination]] = {}
    for c in combinations:
        by_names.setdefault((c.encoder, c.reducer_label, c.model), []).append(c)
    for group in by_names.values():
        if len(group) < 2:
            continue
        keys = sorted({k for c in group for k in c.flat})
        differing = [k for k in keys if len({json.dumps(c.flat.get(k), default=str) for c in group}) > 1]
        for c in group:
            c.variant = ", ".join(f"{k}={_shown(c.flat[k])}" for k in differing if k in c.flat)


def match_combinations(combinations: list[Combination], ref: str) -> list[Combination]:
    """The combinations ``ref`` names: a combination key or a run's config hash (whole or a prefix), else a
    label ('encoder/reducer/model', with or without the reducer's dim, or the table's label)."""
    ref_l = ref.strip().lower()
    exact = [c for c in combinations if c.key == ref_l or any(r["config_hash"] == ref_l for r in c.runs)]
    if exact:
        return exact
    if re.fullmatch(r"[0-9a-f]+", ref_l):
        prefixed = [c for c in combinations
                    if c.key.startswith(ref_l) or any(r["config_hash"].startswith(ref_l) for r in c.runs)]
        if prefixed:
            return prefixed
    squeezed = ref_l.replace(" ", "")
    named = []
    for c in combinations:
        names = {c.label.lower(), f"{c.encoder}/{c.reducer}/{c.model}".lower(),
                 f"{c.encoder}/{c.reducer_label}/{c.model}".lower()}
        if ref_l in names or squeezed in {n.replace(" ", "") for n in names}:
            named.append(c)
    return named


def find_combination(combinations: list[Combination], ref: str, dataset: str = "") -> Combination | None:
    """The one combination ``ref`` names, None for none; several is an error listing them."""
    found = match_combinations(combinations, ref)
    if len(found) > 1:
        listed = "; ".join(f"{c.key} ({c.label})" for c in found)
        raise MMBenchError(f"--reference {ref!r} matches {len(found)} combinations of {dataset or 'this board'}: "
                           f"{listed}; give one of these combination keys")
    return found[0] if found else None


#: the fields of a published result; ``system`` and ``source`` are required (a number without its
#: source is not shown); ``config`` names the mmbench config that reproduces it
PUBLISHED_FIELDS = ("system", "description", "valid_auc", "test_auc", "source", "config")


def _published_entry(entry) -> dict | None:
    if not isinstance(entry, dict) or not entry.get("system") or not entry.get("source"):
        return None
    out = {k: short(str(entry.get(k) if entry.get(k) is not None else ""), 200) for k in PUBLISHED_FIELDS}
    for k in ("valid_auc", "test_auc"):  # a number in [0, 1] or nothing
        out[k] = entry.get(k) if 0.0 <= num(entry.get(k)) <= 1.0 else ""
    tasks = entry.get("tasks", [2])  # the challenge tasks whose boards show it
    out["tasks"] = [t for t in tasks if t in (1, 2)] if isinstance(tasks, list) else [2]
    return out


def _published_file(path) -> list[dict]:
    """One ``published.yaml``'s results. It is written by people: what cannot be read is left out with a
    note, never a failure of the command that renders the leaderboard."""
    if not (path.is_file() or path.is_dir()):  # a folder in its place is read, fails and is noted
        return []
    try:
        raw = yamlfile.load(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        why = f"line {mark.line + 1}: {exc.problem}" if mark is not None else getattr(exc, "strerror", None) or exc
        note(f"{path} cannot be read ({short(str(why), 120)}); published results are left out")
        return []
    results = raw.get("results") if isinstance(raw, dict) else None
    if not isinstance(results, list):
        note(f"{path} has no list 'results:'; published results are left out")
        return []
    entries = [_published_entry(e) for e in results]
    if None in entries:
        note(f"{path}: {entries.count(None)} of {len(entries)} result(s) lack 'system' or 'source' and are left out")
    return [e for e in entries if e is not None]


def load_published(directory: Path, dataset: str = "") -> list[dict]:
    """The published results that ship with mmbench (``published.yaml`` of this package), with the
    leaderboard folder's own ``published.yaml`` (if any) adding entries or replacing those of the same
    ``system``; only those of the dataset's challenge task (``<dataset>-task1``: Task 1)."""
    merged = {e["system"]: e for e in _published_file(resources.files(__package__) / "published.yaml")}
    merged.update({e["system"]: e for e in _published_file(Path(directory) / "published.yaml")})
    task = store.task_of_dataset(dataset)
    return [e for e in merged.values() if task in e["tasks"]]


def _group(runs: list[dict]) -> list[Combination]:
    combinations: dict[str, Combination] = {}
    for r in runs:
        key = combination_key(r)
        if key not in combinations:
            cfg = _config_without_seed(r.get("config"))
            combinations[key] = Combination(key, r["encoder"], r["reducer"], r["model"], _flat(cfg or {}), [])
        combinations[key].runs.append(r)
    ordered = sorted(combinations.values(), key=lambda c: -c.mean)
    for c in ordered:
        c.runs.sort(key=lambda r: num(r["seed"]))
    _variants(ordered)
    return ordered


def baseline_settings() -> dict[str, dict]:
    """config file → its flat resolved setting (``BASELINE_CONFIGS``)."""
    return yaml.safe_load((resources.files(__package__) / BASELINE_CONFIGS).read_text(encoding="utf-8"))


def baseline_components() -> tuple[str, str, str]:
    """(encoder, reducer, model) of the official baseline's setting, read from ``BASELINE_CONFIGS``."""
    setting = next(iter(baseline_settings().values()))
    return setting["encoder.name"], setting["reducer.name"], setting["model.name"]


def comparable(flat: dict) -> dict:
    """A flat resolved config as the baseline comparison sees it: no dataset, no train key that tunes nothing."""
    skipped = {f"train.{k}" for k in config_mod.NOT_TUNING}
    return {k: v for k, v in flat.items() if not k.startswith("dataset.") and k not in skipped}


def baseline_differences(flat: dict) -> tuple[str, list[str]]:
    """(the baseline config closest to ``flat``, the settings where ``flat`` differs from it as
    'key value (baseline: value)'). A key the run's config does not record (a parameter added later,
    at its default) is not a difference."""
    best = None
    for source, setting in baseline_settings().items():
        diffs = [f"{k} {_shown(flat[k])} (baseline: {_shown(v)})" for k, v in setting.items()
                 if k in flat and json.dumps(flat[k], default=str) != json.dumps(v, default=str)]
        diffs += [f"{k} {_shown(flat[k])} (baseline: unset)" for k in comparable(flat) if k not in setting]
        if best is None or len(diffs) < len(best[1]):
            best = (source, diffs)
    return best


def _pick_reference(ordered: list[Combination], dataset: str, reference: str | None):
    if reference:
        ref = find_combination(ordered, reference, dataset)
        if ref is None:
            raise MMBenchError(f"--reference {reference!r} matches no combination of {dataset}; give a config "
                               f"hash, a combination key (or a prefix of either) or 'encoder/reducer/model' from "
                               f"the table")
        return ref, f"chosen with --reference {reference}"
    ref = _baseline(ordered)
    if ref is not None:
        source, diffs = baseline_differences(ref.flat)
        if not diffs:
            return ref, f"the official challenge baseline's setting ({source})"
        more = f" and {len(diffs) - 3} more" if len(diffs) > 3 else ""
        return ref, (f"the board's {'/'.join(baseline_components())} combination closest to the official challenge baseline, "
                     f"not its setting: it differs from {source} in {', '.join(diffs[:3])}{more}")
    if ordered:
        return ordered[0], (f"the best measured combination (no baseline row "
                            f"{' / '.join(baseline_components())} yet)")
    return None, ""


def _baseline(ordered: list[Combination]) -> Combination | None:
    """The combination of the baseline's components, preferring (in this order) the one closest to the
    baseline's whole setting, one without a variant (no model option set), the best."""
    names = baseline_components()
    named = [c for c in ordered if (c.encoder, c.reducer, c.model) == names]
    return min(named, default=None, key=lambda c: (len(baseline_differences(c.flat)[1]), bool(c.variant)))


def _add_statistics(usable: list[Combination], ref: Combination | None, labels, preds) -> PairedStats:
    """DeLong CI of each combination's seed-mean, and the paired test against the reference."""
    index = {r["config_hash"]: i for i, r in enumerate(r for c in usable for r in c.runs)}
    aucs, cov = delong(labels, np.stack([preds[h] for h in index]))

    def weights(c: Combination) -> np.ndarray:
        w = np.zeros(len(index))
        for r in c.runs:
            w[index[r["config_hash"]]] = 1.0 / len(c.runs)
        return w

    for c in usable:
        _, lo, hi = weighted_ci(aucs, cov, weights(c))
        c.ci = (lo, hi)
        if ref is not None and ref in usable and c is not ref:
            c.delta, c.p_value = paired_test(aucs, cov, weights(c) - weights(ref))
    return PairedStats(list(index), aucs, cov)


def summarise(rows: list[dict], dataset: str, directory: Path, reference: str | None = None,
              all_trials: bool = False) -> Summary:
    """``all_trials``: every trial of a tuning study as a combination, not only each study's best."""
    _note_unusable(rows, dataset)
    runs, notes = trial_view(latest_ok_per_hash(rows), combination_key, best_only=not all_trials)
    ordered = _group(runs)
    for c in ordered:
        note_ = notes.get(c.key)
        if note_ is not None:  # reruns of a trial's config with other seeds join its combination
            c.trial = dataclasses.replace(note_, other_runs=sum(1 for r in c.runs if not r.get("study")))
    ref, reason = _pick_reference(ordered, dataset, reference)
    if ref is not None:
        ref.is_reference = True
    labels, preds = store.load_predictions(directory, dataset, [r["config_hash"] for r in runs])
    usable = [c for c in ordered if all(r["config_hash"] in preds for r in c.runs)]
    has_stats = labels is not None and bool(usable) and 0 < labels.sum() < len(labels) - 1
    paired = _add_statistics(usable, ref, labels, preds) if has_stats else None
    oracle = next((num(r["oracle_auc"]) for r in runs if 0.0 < num(r.get("oracle_auc")) <= 1.0), None)
    return Summary(dataset, ordered, ref, reason, sorted(runs, key=lambda r: -num(r.get("valid_auc"))),
                   [r for r in rows if not store.is_ok(r)], has_stats, oracle, load_published(directory, dataset),
                   paired)
