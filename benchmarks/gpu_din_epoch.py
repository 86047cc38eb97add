"""Time one epoch of mmbench's ``din`` at the published baseline's shapes on a full-size train split.

    python benchmarks/gpu_din_epoch.py                      # 3.6M rows, batch 8192, CUDA if present
    python benchmarks/gpu_din_epoch.py --amp                # bf16 autocast (CUDA)
    python benchmarks/gpu_din_epoch.py --rows 20000 --device cpu   # a quick CPU check

The split is random arrays with MicroLens-1M's shapes and vocabularies (1,000,000 users, 91,718
items incl. padding, 11,740 tags, 64-long left-padded histories, 128-d item vectors). History
lengths follow the synthetic generator's law (log-normal, median 10, clipped to 2..64) unless
``--history full`` makes every row 64 long (the worst case for a model that skips padding).
The time covers moving the split to the device and one pass of ``mmbench.run.trainer.fit`` over it
(the validation pass after the epoch is timed apart).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from mmbench.data.types import ItemTable, MMCTRData, Split
from mmbench.contract.features import FeatureSpec, ItemVectors
from mmbench.run.trainer import Callbacks, TrainParams, fit
from mmbench_zoo.din.model import DIN, DINParams

N_USERS, N_ITEMS, N_TAGS, SEQ_LEN, VEC_DIM = 1_000_000, 91_718, 11_740, 64, 128


def make_split(name: str, n: int, history: str, rng: np.random.Generator) -> Split:
    if history == "full":
        length = np.full(n, SEQ_LEN)
    else:
        length = np.clip(np.rint(np.exp(rng.normal(np.log(10.0), 0.8, n))), 2, SEQ_LEN).astype(np.int64)
    seq = rng.integers(1, N_ITEMS, (n, SEQ_LEN), dtype=np.int32)
    seq[np.arange(SEQ_LEN)[None, :] < (SEQ_LEN - length)[:, None]] = 0
    return Split(name, rng.integers(1, N_USERS, n, dtype=np.int32), seq,
                 rng.integers(1, N_ITEMS, n, dtype=np.int32), rng.integers(0, 11, n).astype(np.int8),
                 rng.integers(0, 11, n).astype(np.int8), (rng.random(n) < 0.25).astype(np.float32))


def make_data(rows: int, history: str, seed: int = 0) -> tuple[MMCTRData, np.ndarray]:
    rng = np.random.default_rng(seed)
    tags = rng.integers(1, N_TAGS, (N_ITEMS, 5), dtype=np.int32)
    tags[:, :2] *= rng.random((N_ITEMS, 2)) < 0.5  # some items have fewer tags (left slots 0)
    tags[0] = 0
    levels = rng.integers(0, 11, (2, N_ITEMS)).astype(np.int8)
    items = ItemTable(N_ITEMS, tags, levels[0], levels[1], [], None)
    vectors = rng.standard_normal((N_ITEMS, VEC_DIM)).astype(np.float32)
    vectors[0] = 0
    data = MMCTRData("random-full-shape", None, make_split("train", rows, history, rng),
                     make_split("valid", 10_000, history, rng), None, items, N_USERS, N_TAGS)
    return data, vectors


class Clock(Callbacks):
    def __init__(self, sync):
        self.sync, self.marks = sync, {}

    def on_epoch_start(self, epoch, n_steps):
        self.sync()
        self.marks["epoch_start"] = time.perf_counter()

    def on_step(self, epoch, step, loss):
        self.last_loss = loss

    def on_epoch_end(self, log):
        self.marks["epoch_end_with_eval"] = time.perf_counter()
        self.train_seconds = log.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=3_600_000)
    ap.add_argument("--batch-size", type=int, default=8192)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--history", choices=["synth", "full"], default="synth")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    t_build = time.perf_counter()
    data, vectors = make_data(args.rows, args.history)
    build_s = time.perf_counter() - t_build
    torch.manual_seed(0)
    model = DIN(FeatureSpec.from_data(data, ItemVectors(vectors)), DINParams())  # baseline defaults
    params = TrainParams(epochs=1, batch_size=args.batch_size, lr=1e-3, embedding_reg=1e-6, grad_clip=10.0,
                         device=args.device, amp=args.amp, compile=args.compile, threads=args.threads,
                         seed=20242025)
    cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    clock = Clock(sync)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    result = fit(model, data.train, data.valid, params, clock)
    epoch_with_transfer = clock.marks["epoch_start"] - t0 + result.train_seconds
    out = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "rows": args.rows, "batch_size": args.batch_size, "history": args.history,
        "mean_history_len": float((data.train.item_seq != 0).sum(1).mean()),
        "amp": args.amp, "compile": args.compile,
        "data_build_seconds": round(build_s, 1),
        "to_device_and_setup_seconds": round(clock.marks["epoch_start"] - t0, 2),
        "epoch_train_seconds": round(result.train_seconds, 2),
        "epoch_seconds_incl_transfer": round(epoch_with_transfer, 2),
        "samples_per_second": round(args.rows / result.train_seconds),
        "samples_per_second_incl_transfer": round(args.rows / epoch_with_transfer),
        "valid_auc_random_labels": round(result.valid["auc"], 4),
        "peak_cuda_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }
    print(json.dumps(out))
    print(f"{out['device']}: one epoch of {args.rows:,} rows in {out['epoch_seconds_incl_transfer']:.1f} s "
          f"incl. transfer ({out['samples_per_second_incl_transfer']:,} samples/s; train loop alone "
          f"{out['epoch_train_seconds']:.1f} s, {out['samples_per_second']:,} samples/s)")


if __name__ == "__main__":
    main()
