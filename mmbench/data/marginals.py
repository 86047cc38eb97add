"""The marginals of a data root in the MMCTR layout: the facts that tell how its rows were made.

docs/synthetic.md ("World 2: the row protocol") infers the challenge's protocol from a few published marginals (an 80 %
row sample of train holds 898,574 users, 77,741 of 91,717 items and 25 % positives). This module
measures the same marginals on any root — the real download or a synthetic world — plus what the
inferred protocol implies: rows per user, positives per user, one shared history per user, users
disjoint across splits, histories equal to the user's ``item_seq.parquet`` sequence, and the
history-length distribution. Everything is columnar; nothing loops over rows in Python.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from . import schema
from .reader import load_mmctr
from .sequences import history
from .types import SEQ_LEN, Split

SAMPLE_SHARE = 0.8
CHUNK = 262_144
#: The published marginals of the real train split (docs/synthetic.md), for side-by-side printing.
REAL = {"n_items": 91_717, "train_rows": 3_600_000, "sample_rows": 2_880_000, "sample_users": 898_574,
        "sample_items": 77_741, "sample_positives": 720_119}
LENGTH_BINS = ((1, 4), (5, 8), (9, 16), (17, 32), (33, 63), (64, 64))


def compute(root: Path, seed: int = 0) -> dict:
    """Every marginal of the root at ``root`` as a JSON-ready dict (see :func:`format_report`)."""
    root = Path(root)
    data = load_mmctr(root, root.name)
    seqs = _read_item_seq(root)
    splits = {s.name: s for s in (data.train, data.valid, data.test) if s is not None}
    out = {
        "root": str(root),
        "n_items": data.items.n_items - 1,  # without the padding row
        "splits": {name: _split_marginals(split, seqs) for name, split in splits.items()},
        "users_shared_by_splits": _overlaps(splits),
        "train_sample": _train_sample(data.train, data.items.n_items - 1, seed),
        "item_seq": None,
    }
    if seqs is not None:
        ids, starts, _ = seqs
        in_split = np.unique(np.concatenate([s.user_id for s in splits.values()]))
        out["item_seq"] = {"users": len(ids), "users_in_no_split": int(len(ids) - np.isin(ids, in_split).sum()),
                           "length": _distribution(np.diff(starts))}
    return out


# ---------------------------------------------------------------------------------- pieces


def _read_item_seq(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(user ids sorted, offsets, flat item ids) of ``item_seq.parquet``; None where it is absent."""
    path = root / schema.ITEM_SEQ.path
    if not path.is_file():
        return None
    table = pq.read_table(path, columns=["user_id", "item_seq"])
    lists = table.column("item_seq").combine_chunks()
    ids = table.column("user_id").to_numpy()
    lengths = np.diff(lists.offsets.to_numpy()).astype(np.int64)
    flat = lists.flatten().to_numpy().astype(np.int32)
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate([[0], np.cumsum(lengths)])
    if not np.array_equal(order, np.arange(len(ids))):  # re-pack the sequences in user-id order
        new_starts = np.concatenate([[0], np.cumsum(lengths[order])])
        flat = flat[np.repeat(starts[:-1][order] - new_starts[:-1], lengths[order]) + np.arange(len(flat))]
        ids, starts = ids[order], new_starts
    return ids, starts, flat


def _counts(values: np.ndarray) -> dict[int, int]:
    """{value: how many times it occurs}, sorted by value."""
    keys, n = np.unique(values, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, n)}


def _distribution(lengths: np.ndarray) -> dict:
    if not len(lengths):
        return {"n": 0}
    q = np.percentile(lengths, [5, 25, 50, 75, 95])
    return {"n": int(len(lengths)), "mean": float(lengths.mean()), "min": int(lengths.min()),
            "p5": float(q[0]), "p25": float(q[1]), "p50": float(q[2]), "p75": float(q[3]), "p95": float(q[4]),
            "max": int(lengths.max()), "over_64": float((lengths > SEQ_LEN).mean()),
            "bins": {f"{lo}-{hi}" if lo != hi else str(lo): int(((lengths >= lo) & (lengths <= hi)).sum())
                     for lo, hi in LENGTH_BINS}}


def _row_hash(item_seq: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint of each row's history (wrapping polynomial sum), chunk by chunk."""
    mult = np.random.default_rng(12345).integers(1, 2**62, SEQ_LEN, dtype=np.uint64) | np.uint64(1)
    out = np.empty(len(item_seq), np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, len(item_seq), CHUNK):
            out[s:s + CHUNK] = (item_seq[s:s + CHUNK].astype(np.uint64) * mult).sum(axis=1)
    return out


def _split_marginals(split: Split, seqs) -> dict:
    users, inverse, rows_per_user = np.unique(split.user_id, return_inverse=True, return_counts=True)
    hashes = _row_hash(split.item_seq)
    lo = np.full(len(users), np.iinfo(np.uint64).max, np.uint64)
    hi = np.zeros(len(users), np.uint64)
    np.minimum.at(lo, inverse, hashes)
    np.maximum.at(hi, inverse, hashes)
    in_history = np.zeros(len(split), bool)
    for s in range(0, len(split), CHUNK):
        sl = slice(s, s + CHUNK)
        in_history[sl] = (split.item_seq[sl] == split.item_id[sl, None]).any(axis=1)
    out = {
        "rows": len(split),
        "users": int(len(users)),
        "rows_per_user": _counts(rows_per_user),
        "users_with_differing_histories": int((lo != hi).sum()),
        "candidate_in_its_history": int(in_history.sum()),
        "history_length": _distribution((split.item_seq > 0).sum(axis=1)),
        "positive_rate": None,
        "positives_per_user": None,
        "rows_matching_item_seq": None,
    }
    if split.label is not None:
        out["positive_rate"] = float(split.label.mean())
        out["positives_per_user"] = _counts(np.bincount(inverse, weights=split.label, minlength=len(users)).astype(np.int64))
    if seqs is not None:
        out["rows_matching_item_seq"] = _rows_matching(split, seqs)
    return out


def _rows_matching(split: Split, seqs) -> int:
    """Rows whose history is the last <= 64 clicks of their user's ``item_seq.parquet`` sequence."""
    ids, starts, flat = seqs
    if not len(ids):
        return 0
    flat = np.append(flat, 0)  # history() may index one past an empty sequence (masked out)
    pos = np.minimum(np.searchsorted(ids, split.user_id), len(ids) - 1)
    known = ids[pos] == split.user_id
    lengths = np.diff(starts)
    matching = 0
    for s in range(0, len(split), CHUNK):
        sl = slice(s, s + CHUNK)
        p = pos[sl]
        expect = history(starts, flat, p, lengths[p])
        matching += int(((expect == split.item_seq[sl]).all(axis=1) & known[sl]).sum())
    return matching


def _overlaps(splits: dict[str, Split]) -> dict[str, int]:
    users = {name: np.unique(s.user_id) for name, s in splits.items()}
    names = list(users)
    return {f"{a}&{b}": int(len(np.intersect1d(users[a], users[b], assume_unique=True)))
            for i, a in enumerate(names) for b in names[i + 1:]}


def _train_sample(train: Split, n_items: int, seed: int) -> dict:
    """The published marginals, measured the way they were: on an 80 % random sample of train rows.
    ``expected_users`` is what the sample would hold if each user's rows fell in it independently
    (1 - 0.2^k for a user with k rows), from this split's own rows-per-user counts."""
    rng = np.random.default_rng(seed)
    take = rng.choice(len(train), size=int(round(SAMPLE_SHARE * len(train))), replace=False)
    _, rows_per_user = np.unique(train.user_id, return_counts=True)
    items = int(len(np.unique(train.item_id[take])))
    return {
        "rows": int(len(take)),
        "users": int(len(np.unique(train.user_id[take]))),
        "expected_users": float((1.0 - (1.0 - SAMPLE_SHARE) ** rows_per_user).sum()),
        "items": items,
        "item_share": items / n_items if n_items else float("nan"),
        "positives": int(train.label[take].sum()) if train.label is not None else None,
        "seed": seed,
    }


# ---------------------------------------------------------------------------------- report


def _fmt_counts(counts: dict | None) -> str:
    if not counts:
        return "—"
    total = sum(counts.values())
    if len(counts) == 1:
        (k, _), = counts.items()
        return f"exactly {k} (all {total:,})"
    return ", ".join(f"{k}: {v:,}" for k, v in counts.items())


def _fmt_length(d: dict) -> str:
    if not d.get("n"):
        return "—"
    return (f"mean {d['mean']:.1f}, min {d['min']}, p5 {d['p5']:g}, p25 {d['p25']:g}, median {d['p50']:g}, "
            f"p75 {d['p75']:g}, p95 {d['p95']:g}, max {d['max']}")


def format_report(m: dict) -> str:
    lines = [f"marginals of {m['root']}  ({m['n_items']:,} items)", ""]
    for name, s in m["splits"].items():
        lines.append(f"{name}: {s['rows']:,} rows, {s['users']:,} users")
        lines.append(f"  rows per user         {_fmt_counts(s['rows_per_user'])}")
        if s["positive_rate"] is not None:
            lines.append(f"  positives per user    {_fmt_counts(s['positives_per_user'])}")
            lines.append(f"  positive rate         {s['positive_rate']:.2%}")
        lines.append(f"  one shared history    {s['users'] - s['users_with_differing_histories']:,} of {s['users']:,} users"
                     f" ({s['users_with_differing_histories']:,} with rows of differing histories)")
        lines.append(f"  candidate in history  {s['candidate_in_its_history']:,} rows")
        if s["rows_matching_item_seq"] is not None:
            lines.append(f"  = item_seq.parquet    {s['rows_matching_item_seq']:,} of {s['rows']:,} rows: history is the "
                         "last <= 64 clicks of the user's sequence")
        h = s["history_length"]
        lines.append(f"  history length        {_fmt_length(h)}")
        if h.get("n"):
            lines.append("                        " + "  ".join(f"{k}: {v / h['n']:.1%}" for k, v in h["bins"].items()))
    shared = m["users_shared_by_splits"]
    lines += ["", "users shared by splits  " + ", ".join(f"{k} {v:,}" for k, v in shared.items())
              + ("  (disjoint)" if not any(shared.values()) else "")]
    t = m["train_sample"]
    real = REAL
    lines += ["", f"80 % sample of train rows (seed {t['seed']}; the real train's published marginals beside it):",
              f"  rows       {t['rows']:>12,}   real {real['sample_rows']:,}",
              f"  users      {t['users']:>12,}   expected from rows per user {t['expected_users']:,.0f}; "
              f"real {real['sample_users']:,} (900,000 x (1 - 0.2^4) = 898,560)",
              f"  items      {t['items']:>12,}   = {t['item_share']:.1%} of all items ever a target; "
              f"real {real['sample_items']:,} of {real['n_items']:,} = {real['sample_items'] / real['n_items']:.1%}"]
    if t["positives"] is not None:
        lines.append(f"  positives  {t['positives']:>12,}   = {t['positives'] / max(t['rows'], 1):.2%}; "
                     f"real {real['sample_positives']:,} = {real['sample_positives'] / real['sample_rows']:.2%}")
    seq = m["item_seq"]
    if seq is None:
        lines += ["", "item_seq.parquet: absent"]
    else:
        lines += ["", f"item_seq.parquet: {seq['users']:,} users ({seq['users_in_no_split']:,} in no split)",
                  f"  sequence length       {_fmt_length(seq['length'])}; longer than 64: {seq['length'].get('over_64', 0):.1%}"]
    return "\n".join(lines)
