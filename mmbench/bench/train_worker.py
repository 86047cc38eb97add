"""One side of ``mmbench bench train``, run in its own process: ``python -m mmbench.bench.train_worker
WORKDIR``. Trains the mmbench model on the saved workload and prints one JSON line."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from . import workload


def run(folder: Path) -> dict:
    from ..data.types import ItemTable, MMCTRData
    from ..contract.features import FeatureSpec, ItemVectors
    from ..contract.params import build_params
    from ..contract.registry import default_registry
    from ..run.trainer import Callbacks, TrainParams, build_and_fit, resolve_device

    meta = workload.load_meta(folder)
    train, valid = workload.load_split(folder, "train"), workload.load_split(folder, "valid")
    items = workload.load_items(folder)
    table = ItemTable(len(items["item_likes"]), items["item_tags"], items["item_likes"], items["item_views"],
                      [], None)
    data = MMCTRData("bench", folder, train, valid, None, table, meta["n_users"], meta["n_tags"])
    params = build_params(TrainParams, meta["train"], "bench train")
    model = default_registry().configure("model", meta["model"], meta["model_params"], f"bench model ({meta['model']})")
    spec = FeatureSpec.from_data(data, ItemVectors(items["item_vectors"]))
    device = resolve_device(params.device)
    n, bs = len(train), params.batch_size
    clock = workload.StepClock(meta["warmup_steps"], torch.cuda.synchronize if device.type == "cuda" else None)

    class Timing(Callbacks):
        def on_epoch_start(self, epoch, n_steps):
            clock.epoch_start()

        def on_optimizer_step(self, epoch, step):
            clock.tick(min(bs, n - (step - 1) * bs))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    _, result = build_and_fit(lambda: model.create(spec), train, valid, params, Timing())
    return {
        "side": "mmbench", "model": meta["model"], "device": str(device), "threads": torch.get_num_threads(),
        "samples_per_second": clock.samples_per_second(), "measured_steps": len(clock.durations),
        "epochs": result.epochs_run, "train_seconds": result.train_seconds,
        "wall_seconds": time.perf_counter() - t0,
        "valid_auc": result.valid["auc"], "valid_logloss": result.valid["logloss"],
        "best_epoch": result.best_epoch, "peak_memory_mb": workload.peak_memory_mb(device),
        "n_params": result.n_params, **workload.gemm_rate(meta),
        "epoch_auc": [h.valid["auc"] for h in result.history],
        "history": [{"epoch": h.epoch, "train_loss": h.train_loss, "valid_auc": h.valid["auc"],
                     "valid_logloss": h.valid["logloss"], "seconds": h.seconds} for h in result.history],
    }


if __name__ == "__main__":
    print("BENCH_RESULT " + json.dumps(run(Path(sys.argv[1]))), flush=True)
