"""A leaderboard's saved valid predictions scored on cold and warm candidate rows.

A valid row is *cold* when its candidate item is the target of at most ``max_train_rows`` train rows
(default 0: never seen in train), so an id embedding learned from train cannot score it and only
content (titles, covers, shipped embeddings, tags, levels) can; the other rows are *warm*. Counted
from ``train.parquet`` / ``valid.parquet``, so it works on the real data as well as on a synthetic
world. On each subset every combination gets its seed-mean AUC with a DeLong 95 % CI and a paired
DeLong test against a reference combination (by default the content-free control encoder's: an encoder
with ``content_free = True``, the built-in ``random``). The
cold and warm rows are disjoint, so their AUC estimates are independent: the test of "the margin over
the reference is larger on cold rows than on warm rows" adds their two variances.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.stats import norm

from ..leaderboard import store, summary as summaries
from ..data import schema
from ..data.truth import read_test_truth, read_valid_probs
from ..errors import DataError, MMBenchError
from ..run.metrics import auc
from .stats import delong, paired_test, weighted_ci


@dataclass
class Candidates:
    """Per row of a split (in its file's order): its label and how many train rows have its candidate."""

    label: np.ndarray
    train_rows: np.ndarray
    oracle: np.ndarray | None  # synthetic data: the true probability (synth_truth/<split>.parquet)


def read_candidates(root: Path, split: str = "valid") -> Candidates:
    """Per row of ``split`` (valid, or test where the root holds its labels: a synthetic world's
    ``synth_truth/test.parquet``), in the split's row order."""
    root = Path(root)
    for spec in (schema.TRAIN, schema.SPLITS[split]):
        if not (root / spec.path).is_file():
            raise DataError(f"{root / spec.path} is missing: --data-root must be the data root the runs used "
                            f"(for synthetic data $MMBENCH_HOME/data/<dataset>, written on the first run)")
    train_items = pq.read_table(root / schema.TRAIN.path, columns=["item_id"]).column(0).to_numpy()
    if split == "valid":
        table = pq.read_table(root / schema.VALID.path, columns=["item_id", "label"])
        items, labels = table.column("item_id").to_numpy(), table.column("label").to_numpy()
        oracle = read_valid_probs(root)
    else:
        table = pq.read_table(root / schema.TEST.path, columns=["ID", "item_id"])
        items = table.column("item_id").to_numpy()
        truth = report_test_truth(root, table.column("ID").to_numpy(), ("label", "prob"))
        labels, oracle = truth["label"], truth["prob"]
    counts = np.bincount(train_items, minlength=int(max(items.max(initial=0), train_items.max(initial=0))) + 1)
    return Candidates(labels.astype(np.int8), counts[items], oracle)


#: what --split accepts: one split, or valid and test pooled (disjoint users, the same row protocol)
SPLIT_CHOICES = ("valid", "test", "valid+test")


def report_test_truth(root: Path, ids: np.ndarray, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The test split's truth columns, or one line saying what a report on the test split needs."""
    try:
        return read_test_truth(root, ids, columns)
    except DataError as exc:
        raise DataError(f"{exc}; --split test needs them: use --split valid, or give --data-root of the data the "
                        "runs used") from None


@dataclass
class Score:
    auc: float
    ci: tuple[float, float]
    delta: float | None = None  # seed-mean AUC minus the reference's, on the same rows
    p: float | None = None
    var_delta: float | None = None


def _subset_masks(cand: Candidates, max_train_rows: int) -> dict[str, np.ndarray]:
    cold = cand.train_rows <= max_train_rows
    return {"all": np.ones(len(cold), bool), "cold": cold, "warm": ~cold}


def score(directory: Path, dataset: str, root: Path, reference: str | None = None, max_train_rows: int = 0,
          split: str = "valid") -> dict:
    """Every combination of ``<directory>/<dataset>.csv`` on all / cold / warm rows of ``split`` (one of
    ``SPLIT_CHOICES``; ``valid+test`` pools both) (JSON-ready)."""
    splits = split_names(split)
    cands = [read_candidates(root, s) for s in splits]
    cand = Candidates(np.concatenate([c.label for c in cands]), np.concatenate([c.train_rows for c in cands]),
                      None if any(c.oracle is None for c in cands) else np.concatenate([c.oracle for c in cands]))
    result = score_masks(directory, dataset, root, cand.label, _subset_masks(cand, max_train_rows), reference,
                         oracle=cand.oracle, splits=splits)
    result["max_train_rows"] = max_train_rows
    result["split"] = split
    for entry in result["combos"]:
        entry["margin_cold_minus_warm"] = _margin_difference(entry)
    return result


def split_names(split: str) -> tuple[str, ...]:
    if split not in SPLIT_CHOICES:
        raise MMBenchError(f"--split {split!r}: must be one of {', '.join(SPLIT_CHOICES)}")
    return tuple(split.split("+"))


def score_masks(directory: Path, dataset: str, root: Path, labels_on_disk: np.ndarray, masks: dict[str, np.ndarray],
                reference: str | None = None, oracle: np.ndarray | None = None, control_default: bool = True,
                splits: tuple[str, ...] = ("valid",)) -> dict:
    """Every combination with saved predictions scored on each named subset of the rows of ``splits``
    (``masks``: name -> boolean mask over those splits' rows, one after the other, each in its file's
    order): seed-mean AUC with a DeLong 95 % CI and, against the reference combination, the paired Δ
    and p. ``control_default``: with no ``reference``, compare against the content-free control
    encoder's combination when there is one."""
    directory = Path(directory)
    rows = store.read_rows(store.csv_path(directory, dataset))
    if not rows:
        raise MMBenchError(f"no leaderboard {store.csv_path(directory, dataset)}; run a sweep on {dataset} first")
    summary = summaries.summarise(rows, dataset, directory)
    hashes = [r["config_hash"] for c in summary.combinations for r in c.runs]
    labels, preds = _pooled_predictions(directory, dataset, root, hashes, splits, labels_on_disk)
    combos = [c for c in summary.combinations if all(r["config_hash"] in preds for r in c.runs)]
    if not combos:
        where = store.preds_dir(directory, dataset)
        raise MMBenchError(f"no saved {' and '.join(splits)} predictions in {where}; subset scores need them (every run "
                           "records its valid predictions; test ones where the data root holds test labels)")
    ref = _pick_reference(combos, reference, control_default)
    index = {r["config_hash"]: i for i, r in enumerate(r for c in combos for r in c.runs)}
    matrix = np.stack([preds[h] for h in index])

    def weights(c) -> np.ndarray:
        w = np.zeros(len(index))
        for r in c.runs:
            w[index[r["config_hash"]]] = 1.0 / len(c.runs)
        return w

    left_out = [c.label for c in summary.combinations if c not in combos]
    result = {"dataset": dataset, "root": str(root), "reference": ref.label if ref else None, "left_out": left_out,
              "subsets": {k: {"rows": int(m.sum()), "positives": int(labels[m].sum())} for k, m in masks.items()},
              "oracle": None, "combos": []}
    scores: dict[str, dict[str, Score]] = {c.key: {} for c in combos}
    for name, m in masks.items():
        n_pos = int(labels[m].sum())
        if n_pos < 2 or int(m.sum()) - n_pos < 2:
            continue  # DeLong needs two rows of each class
        aucs, cov = delong(labels[m], matrix[:, m])
        for c in combos:
            est, lo, hi = weighted_ci(aucs, cov, weights(c))
            s = Score(est, (lo, hi))
            if ref is not None and c is not ref:
                contrast = weights(c) - weights(ref)
                s.delta, s.p = paired_test(aucs, cov, contrast)
                s.var_delta = float(contrast @ cov @ contrast)
            scores[c.key][name] = s
    if oracle is not None:
        result["oracle"] = {k: _auc_or_nan(labels[m], oracle[m]) for k, m in masks.items()}
    for c in combos:
        entry = {"label": c.label, "combo": c.key, "encoder": c.encoder, "reducer": c.reducer_label, "model": c.model,
                 "n_seeds": len(c.runs), "reference": c is ref}
        for name in masks:
            s = scores[c.key].get(name)
            entry[name] = None if s is None else {"auc": s.auc, "ci95": list(s.ci), "delta": s.delta, "p": s.p,
                                                  "var_delta": s.var_delta}
        result["combos"].append(entry)
    return result


def _pooled_predictions(directory: Path, dataset: str, root: Path, hashes: list[str], splits: tuple[str, ...],
                        labels_on_disk: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The saved labels and predictions of each split, one split after the other; a run counts only
    with predictions of every split. The saved labels must be the data root's."""
    all_labels, by_split = [], []
    for split in splits:
        labels, preds = store.load_predictions(directory, dataset, hashes, split)
        if labels is None:
            raise MMBenchError(f"no saved {split} predictions in {store.preds_dir(directory, dataset)}; subset scores "
                               f"need them" + ("" if split == "valid" else "; a run saves its test predictions when "
                               "its data root holds the test labels, as a synthetic world's does (rerun older runs)"))
        all_labels.append(labels)
        by_split.append(preds)
    labels = np.concatenate(all_labels)
    if len(labels_on_disk) != len(labels) or not np.array_equal(labels_on_disk, labels):
        files = " and ".join(str(Path(root) / schema.SPLITS[s].path) for s in splits)
        raise DataError(f"{files}: the labels differ from the saved {'+'.join(splits)} labels of {dataset}; "
                        "--data-root must be the data root the runs used")
    pooled = {h: np.concatenate([p[h] for p in by_split]) for h in hashes if all(h in p for p in by_split)}
    return labels, pooled


def _auc_or_nan(labels: np.ndarray, scores: np.ndarray) -> float:
    return auc(labels, scores) if 0 < labels.sum() < len(labels) else float("nan")


def content_free_encoders() -> set[str]:
    """The registered encoders that declare themselves content-free controls (``Encoder.content_free``)."""
    from ..contract.registry import default_registry

    registry = default_registry()
    found = set()
    for name in registry.names("encoder"):
        try:
            if registry.get("encoder", name).factory.content_free:
                found.add(name)
        except MMBenchError:  # a broken plugin is reported by `mmbench plugins`, not here
            continue
    return found


def _pick_reference(combos: list, reference: str | None, control_default: bool = True):
    if reference:
        ref = summaries.find_combination(combos, reference)
        if ref is None:
            raise MMBenchError(f"--reference {reference!r} matches no combination with saved predictions; give a config "
                               "hash, a combination key or 'encoder/reducer/model' from `mmbench leaderboard`")
        return ref
    if not control_default:
        return None
    control_names = content_free_encoders()
    controls = [c for c in combos if c.encoder in control_names]
    if len(controls) > 1:
        raise MMBenchError(f"several combinations use a content-free control encoder ({', '.join(sorted(control_names))}); "
                           f"choose one with --reference ({', '.join(c.key for c in controls)})")
    return controls[0] if controls else None


def _margin_difference(entry: dict) -> dict | None:
    """Δ on cold rows minus Δ on warm rows, and the two-sided p of it being 0 (independent row sets)."""
    cold, warm = entry.get("cold"), entry.get("warm")
    if cold is None or warm is None or cold["delta"] is None or warm["delta"] is None:
        return None
    diff = cold["delta"] - warm["delta"]
    sd = math.sqrt(max(cold["var_delta"] + warm["var_delta"], 0.0))
    p = float(2 * norm.sf(abs(diff) / sd)) if sd > 0 else (1.0 if abs(diff) < 1e-12 else 0.0)
    return {"diff": diff, "p": p}


def _fmt_p(p: float | None) -> str:
    return "—" if p is None else ("< 1e-4" if p < 1e-4 else f"{p:.4f}")


def format_report(r: dict) -> str:
    lines = [f"{r['dataset']}: {r.get('split', 'valid')} rows by candidate (cold = target of <= {r['max_train_rows']} "
             f"train rows; data root {r['root']})"]
    extra = ("Δcold-Δwarm", lambda c: c["margin_cold_minus_warm"])
    return "\n".join(lines + format_table(r, "none (no row of a content-free control encoder such as `random`; pass --reference)", extra) + [
        "", "AUC: seed-mean; Δ and p: paired DeLong against the reference on the same rows; "
            "Δcold-Δwarm: is the margin over the reference larger on cold rows (independent row sets)."])


def format_table(r: dict, no_reference: str, extra=None) -> list[str]:
    """Subset sizes, then one line per combination: AUC, Δ vs the reference and p on each subset (and
    an optional extra column ``(title, entry -> {"diff", "p"} | None)``), then the oracle's line."""
    widths = {name: max(10, len(name) + 4) for name in r["subsets"]}
    label_width = min(100, max([48] + [len(c["label"]) for c in r["combos"]]))  # variants name their parameters
    lines = ["  " + "   ".join(f"{k} {v['rows']:,} rows ({v['positives']:,} positive)" for k, v in r["subsets"].items()),
             f"  reference: {r['reference'] or no_reference}"]
    if r.get("left_out"):
        gone = r["left_out"]
        more = f"; and {len(gone) - 3} more" if len(gone) > 3 else ""
        lines.append(f"  left out: {len(gone)} combination(s) without saved {r.get('split', 'valid')} predictions of "
                     f"every seed ({'; '.join(gone[:3])}{more})")
    lines.append("")
    head = f"{'combination':<{label_width}} {'seeds':>5}"
    for name, width in widths.items():
        head += f" | {name + ' AUC':>{width}} {'Δ vs ref':>9} {'p':>7}"
    if extra:
        head += f" | {extra[0]:>11} {'p':>7}"
    lines += [head, "-" * len(head)]
    for c in r["combos"]:
        line = f"{c['label'][:label_width]:<{label_width}} {c['n_seeds']:>5}"
        for name, width in widths.items():
            s = c[name]
            if s is None:
                line += f" | {'—':>{width}} {'':>9} {'':>7}"
            else:
                delta = "ref" if c["reference"] else ("—" if s["delta"] is None else f"{s['delta']:+.4f}")
                line += f" | {s['auc']:>{width}.4f} {delta:>9} {'' if c['reference'] else _fmt_p(s['p']):>7}"
        if extra:
            m = extra[1](c)
            line += f" | {m['diff']:>+11.4f} {_fmt_p(m['p']):>7}" if m else f" | {'—':>11} {'':>7}"
        lines.append(line)
    if r["oracle"]:
        line = f"{'oracle (true probabilities)':<{label_width}} {'':>5}"
        for name, width in widths.items():
            value = r["oracle"].get(name)
            line += f" | {value:>{width}.4f} {'':>9} {'':>7}" if value == value else f" | {'—':>{width}} {'':>9} {'':>7}"
        lines.append(line)
    return lines
