"""Same seed, same numbers: run tiny-scale configs through ``mmbench run`` and print each run's valid AUC
and a hash of its saved valid predictions, so two commits can be compared bit for bit.

    python benchmarks/same_seed_check.py --out /tmp/after.json          # this checkout's mmbench
    /path/to/other/venv/bin/python benchmarks/same_seed_check.py --out /tmp/before.json
    python benchmarks/same_seed_check.py --compare /tmp/before.json /tmp/after.json

Only the command line is used (``mmbench run``, the leaderboard CSV and ``<dataset>/preds/*.npy``), so
the script runs unchanged against any commit that has them. CPU, tiny synthetic data, 2 epochs.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

DATASET = {"name": "microlens_1m_synth", "scale": "tiny", "seed": 0}
TRAIN = {"epochs": 2, "patience": 2, "batch_size": 512, "device": "cpu", "seed": 7, "threads": 1}
RUNS = {
    "attention_dnn": ({"name": "precomputed"}, {"name": "pca", "dim": 16},
                      {"name": "attention_dnn", "embedding_dim": 8, "attention_dim": 8, "num_heads": 2,
                       "dnn_hidden": [32, 16]}),
    "din": ({"name": "precomputed"}, {"name": "pca", "dim": 16},
            {"name": "din", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [32, 16]}),
    "dcn": ({"name": "precomputed"}, {"name": "pca", "dim": 16},
            {"name": "dcn", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [32, 16]}),
    "dcn_learned": ({"name": "random", "dim": 32}, {"name": "learned", "dim": 8},
                    {"name": "dcn", "embedding_dim": 8, "history": "mean", "dnn_hidden": [32]}),
    "din_user_id": ({"name": "precomputed"}, {"name": "none"},
                    {"name": "din", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [32],
                     "use_user_id": True}),
    "attention_dnn_no_user": ({"name": "random", "dim": 32}, {"name": "learned", "dim": 8},
                              {"name": "attention_dnn", "embedding_dim": 8, "attention_dim": 8, "num_heads": 2,
                               "dnn_hidden": [32], "use_user_id": False}),
}


def run_all(out: Path) -> dict:
    results = {}
    with tempfile.TemporaryDirectory(prefix="same-seed-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "MMBENCH_HOME": str(tmp / "home")}
        for label, (encoder, reducer, model) in RUNS.items():
            cfg = tmp / f"{label}.yaml"
            cfg.write_text(yaml.safe_dump({"dataset": DATASET, "encoder": encoder, "reducer": reducer,
                                           "model": model, "train": TRAIN}))
            board = tmp / f"lb-{label}"
            proc = subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(cfg), "--leaderboard-dir", str(board)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode:
                raise SystemExit(f"{label} failed:\n{proc.stderr[-2000:]}")
            (csv_file,) = board.glob("*.csv")
            with open(csv_file, newline="") as f:
                (row,) = list(csv.DictReader(f))
            (preds,) = (board / csv_file.stem / "preds").glob(f"{row['config_hash']}.npy")
            import numpy as np

            probs = np.load(preds)
            results[label] = {"valid_auc": row["valid_auc"], "config_hash": row["config_hash"],
                              "preds_sha256": hashlib.sha256(probs.tobytes()).hexdigest()[:16],
                              "epochs": row["epochs"], "best_epoch": row["best_epoch"]}
            print(label, json.dumps(results[label]), flush=True)
    out.write_text(json.dumps(results, indent=1))
    return results


def compare(a: Path, b: Path) -> int:
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    same = True
    for label in before:
        x, y = before[label], after.get(label, {})
        keys = ("valid_auc", "preds_sha256", "config_hash", "best_epoch")
        ok = all(x.get(k) == y.get(k) for k in keys)
        same &= ok
        print(f"{label:<14} AUC {x['valid_auc']} -> {y.get('valid_auc')}  preds {x['preds_sha256']} -> "
              f"{y.get('preds_sha256')}  {'identical' if ok else 'DIFFERENT'}")
    return 0 if same else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="write the results here (JSON)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = p.parse_args()
    if args.compare:
        return compare(*args.compare)
    run_all(args.out or Path("same_seed.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
