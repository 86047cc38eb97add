"""Time and memory of the data layer at full MicroLens-1M size.

    python benchmarks/data_full.py --out /tmp/mmbench-full [--scale full] [--world 2|3|1] [--keep]

Runs, each in a fresh process so peak RSS is its own: (1) the synthetic generator of the chosen world,
(2) the reader (``load_mmctr`` of every split and the item table), (3) loading one shipped embedding,
(4) ``mmbench data marginals`` (printed). Prints a table; deletes the generated data unless ``--keep``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

STEPS = {
    "synth": "from mmbench_plugins.datasets.synth.worlds import generate; f = generate({world}, Path(r'{out}'), '{scale}', 0); "
             "print(f'oracle valid AUC {{f[\"valid_auc\"]:.4f}}, references {{f.get(\"references\")}}')",
    "read": "from mmbench.data.reader import load_mmctr; d = load_mmctr(Path(r'{out}'), 'x'); "
            "print(f'train rows {{len(d.train):,}}, items {{d.items.n_items:,}}, users {{d.n_users:,}}')",
    "read_emb": "from mmbench.data.reader import load_mmctr; d = load_mmctr(Path(r'{out}'), 'x'); "
                "t = time.perf_counter(); e = d.items.load_shipped('item_feature.parquet', 'img_emb_CLIPRN50'); "
                "print(f'img_emb_CLIPRN50 {{e.shape}} in {{time.perf_counter() - t:.1f}} s')",
    "marginals": "from mmbench.data.marginals import compute, format_report; print(format_report(compute(Path(r'{out}'))))",
}


_REPORT = (
    "\nimport resource\n"
    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_step(code: str) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (GiB) of the step's process and of its largest worker process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", f"import time\nfrom pathlib import Path\n{code}{_REPORT}"],
                          check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    for line in proc.stdout.splitlines():
        if line.startswith("PEAK"):
            _, own, workers = line.split()
            return seconds, int(own) / 2**20, int(workers) / 2**20
        print("   ", line)
    raise RuntimeError("step did not report its memory")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--scale", default="full")
    ap.add_argument("--world", type=int, default=2, choices=[1, 2, 3])
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; remove it first")
    results = {}
    try:
        for name, code in STEPS.items():
            results[name] = run_step(code.format(out=args.out, scale=args.scale, world=args.world))
            seconds, own, workers = results[name]
            print(f"{name:9s} {seconds:7.1f} s   peak RSS {own:.2f} GiB (largest worker {workers:.2f} GiB)", flush=True)
        size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 2**30
        print(f"dataset on disk: {size:.2f} GiB")
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
