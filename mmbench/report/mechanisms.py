"""A leaderboard's saved valid predictions scored by the link between each user's real next click and
its history, on a synthetic world-2 or world-3 data root (its ``synth_truth/items.parquet`` holds the latent
series successors, co-click communities and niches that no content feature shows).

Every valid user contributes one group of 4 rows; the group goes to the first class its positive
candidate fits:

* ``series``: the positive is the successor, in its creator's series, of the last click;
* ``coclick``: it shares a hidden co-click community with one of the last 16 clicks;
* ``niche``: it shares a niche (the fine interest under a topic) with some click of the history;
* ``unlinked``: none of these (a taste interest the history does not show, a popular draw).

These are the links a model could use, read from the truth; they say what *can* explain a positive,
not which mechanism drew it (a co-click draw may also share a niche). A model that finds a mechanism
ranks the positive above its 3 negatives on that class's rows; comparing classes shows which
mechanism separates two models.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..data import schema
from ..data.truth import RECENCY_WINDOW, items_table, read_valid_probs
from ..errors import DataError
from .coldwarm import format_table, report_test_truth, score_masks, split_names

CLASSES = ("series", "coclick", "niche", "unlinked")
TRUTH_COLUMNS = ("item_id", "community", "interest", "successor")


def _lookup(truth: Path) -> dict[str, np.ndarray]:
    if not truth.is_file():
        raise DataError(f"{truth} is missing: `mmbench data mechanisms` needs a synthetic world-2 or world-3 data root "
                        "(the latent series, co-click communities and niches exist only there); "
                        "pass --data-root, the root the runs used")
    missing = [c for c in TRUTH_COLUMNS if c not in pq.read_schema(truth).names]
    if missing:
        raise DataError(f"{truth}: no column {', '.join(missing)}; it is not a world-2 or world-3 truth table "
                        "(world 1 has no series or co-click communities)")
    t = pq.read_table(truth, columns=list(TRUTH_COLUMNS))
    ids = t.column("item_id").to_numpy()
    out = {}
    for col in TRUTH_COLUMNS[1:]:
        table = np.full(int(ids.max(initial=0)) + 1, -1 if col != "successor" else 0, np.int64)  # 0: padding
        table[ids] = t.column(col).to_numpy()
        out[col] = table
    return out


def _split_rows(root: Path, split: str = "valid") -> dict[str, np.ndarray]:
    path = root / schema.SPLITS[split].path
    if not path.is_file():
        raise DataError(f"{path} is missing: --data-root must be the data root the runs used")
    wanted = ["user_id", "item_seq", "item_id", "label" if split == "valid" else "ID"]
    missing = [c for c in wanted if c not in pq.read_schema(path).names]
    if missing:
        raise DataError(f"{path}: no column {', '.join(missing)}; the mechanism classes need the challenge's "
                        f"{split} layout ({', '.join(wanted)})")
    t = pq.read_table(path, columns=wanted)
    seq = t.column("item_seq").combine_chunks()
    listed = pa.types.is_fixed_size_list(seq.type) or pa.types.is_list(seq.type) or pa.types.is_large_list(seq.type)
    lengths = pc.list_value_length(seq).to_numpy(zero_copy_only=False) if listed else None
    if (not listed or seq.null_count or seq.flatten().null_count or len(t) and lengths.min() != lengths.max()
            or not pa.types.is_integer(seq.type.value_type)):
        raise DataError(f"{path}: column 'item_seq' must hold one list of integer item ids per row, all of one "
                        f"length and without nulls (found {seq.type}); write it as the challenge does "
                        "(the last 64 clicks, left-padded with 0)")
    ids = t.column("ID").to_numpy() if split == "test" else None
    labels = t.column("label").to_numpy() if split == "valid" else report_test_truth(root, ids, ("label",))["label"]
    return {"user": t.column("user_id").to_numpy(), "item": t.column("item_id").to_numpy(),
            "label": labels.astype(np.int8),
            "seq": seq.flatten().to_numpy().astype(np.int64).reshape(len(t), -1)}


def classify(root: Path, split: str = "valid") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(labels, class name -> boolean mask over the rows of ``split``, valid or a synthetic world's
    labelled test); all rows of a user share its positive's class. Histories are left-padded, so the
    last column is the last click."""
    root = Path(root)
    path = root / schema.SPLITS[split].path
    v = _split_rows(root, split)
    t = _lookup(items_table(root))
    seq, item = v["seq"], v["item"]
    if max(int(seq.max(initial=0)), int(item.max(initial=0))) >= len(t["community"]):
        raise DataError(f"{path} holds item ids beyond {items_table(root)}; "
                        "the truth table belongs to other data")
    real = seq > 0

    def shares(column: str, window: np.ndarray, present: np.ndarray) -> np.ndarray:
        return ((t[column][window] == t[column][item][:, None]) & present).any(axis=1)

    links = {"series": (t["successor"][seq[:, -1]] == item) & real[:, -1],
             "coclick": shares("community", seq[:, -RECENCY_WINDOW:], real[:, -RECENCY_WINDOW:]),
             "niche": shares("interest", seq, real)}
    row_class = np.full(len(item), len(CLASSES) - 1)
    for k in reversed(range(len(CLASSES) - 1)):  # first class that fits wins
        row_class[links[CLASSES[k]]] = k
    positives = v["label"] == 1
    users, inverse = np.unique(v["user"], return_inverse=True)
    if np.bincount(inverse[positives], minlength=len(users)).max(initial=0) > 1:
        raise DataError(f"{path}: a user has more than one positive row; the mechanism classes "
                        "need the challenge protocol (one positive per user)")
    user_class = np.full(len(users), -1)
    user_class[inverse[positives]] = row_class[positives]
    group_class = user_class[inverse]  # -1: a user with no positive row (in no class)
    return v["label"], {name: group_class == k for k, name in enumerate(CLASSES)}


def score(directory: Path, dataset: str, root: Path, reference: str | None = None, split: str = "valid") -> dict:
    """Every combination of the board on each class's rows of ``split`` (``valid+test`` pools both)."""
    splits = split_names(split)
    parts = [classify(root, s) for s in splits]
    labels = np.concatenate([labels for labels, _ in parts])
    masks = {name: np.concatenate([m[name] for _, m in parts]) for name in CLASSES}
    oracles = [read_valid_probs(root) if s == "valid" else _oracle_of_test(root) for s in splits]
    oracle = None if any(o is None for o in oracles) else np.concatenate(oracles)
    result = score_masks(directory, dataset, root, labels, masks, reference, oracle=oracle, control_default=False,
                         splits=splits)
    result["split"] = split
    return result


def _oracle_of_test(root: Path) -> np.ndarray:
    ids = pq.read_table(Path(root) / schema.TEST.path, columns=["ID"]).column(0).to_numpy()
    return report_test_truth(root, ids, ("prob",))["prob"]


def format_report(r: dict) -> str:
    lines = [f"{r['dataset']}: {r.get('split', 'valid')} users by the link between their real next click and their history "
             f"(data root {r['root']})"]
    return "\n".join(lines + format_table(r, "none (pass --reference to compare)") + [
        "", "series: the successor of the last click in its series; coclick: shares a hidden co-click community with "
            "one of the last 16 clicks; niche: shares a niche with a click of the history; unlinked: none of these.",
        "AUC: seed-mean over each class's rows (all 4 rows of each user); Δ and p: paired DeLong against the "
        "reference on the same rows."])
