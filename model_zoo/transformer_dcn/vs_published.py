"""The published side of ``mmbench bench train --vs published-transformer-dcn --published-repo PATH``:
team momo's ``Transformer_DCN`` (the MMCTR 1st place) from a local checkout of
yinzm/WWW2025_MMCTR_rk1, built from that checkout's own config and trained by FuxiCTR's
``BaseModel.fit`` on batches from the checkout's own ``MMCTRDataLoader``. Run in its own process:
``python -P -m mmbench_zoo.transformer_dcn.vs_published WORKDIR REPO``; prints one JSON line.

Only glue lives here, nothing of the published code: the saved workload written as the challenge's
parquet files, the config's data paths and vocabulary sizes pointed at them, and a clock around
the loader. The published model runs the way its ``run_expid.py`` runs it.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from mmbench.bench import workload

from .authors import CONFIG, EXPID

DATASET_ID = "MicroLens_1M_x1"


def compatibility_shims() -> None:
    """FuxiCTR 2.3.7 predates NumPy 2 and scikit-learn 1.5: its fit() reads ``np.Inf`` and its metrics
    pass ``eps`` to ``log_loss``. Restore both spellings; nothing else of FuxiCTR is touched."""
    import fuxictr.metrics
    from sklearn.metrics import log_loss

    if not hasattr(np, "Inf"):
        np.Inf = np.inf

    def log_loss_with_eps(y_true, y_pred, eps=1e-7, **kwargs):
        return log_loss(y_true, np.clip(y_pred, eps, 1 - eps), **kwargs)

    fuxictr.metrics.log_loss = log_loss_with_eps


class ClockedLoader:
    """The published loader, with the step clock ticking each time the model comes back for a batch
    (the last batch of an epoch is followed by FuxiCTR's evaluation, so it is not timed)."""

    def __init__(self, loader, clock):
        self.loader, self.clock = loader, clock

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.clock.epoch_start()
        n = len(self.loader)
        for i, batch in enumerate(self.loader):
            yield batch
            if i < n - 1:
                self.clock.tick(int(batch[2].shape[0]))


def run(folder: Path, repo: Path) -> dict:
    try:
        import fuxictr
        from fuxictr.features import FeatureMap
        from fuxictr.preprocess import FeatureProcessor, build_dataset
        from fuxictr.pytorch.dataloaders import RankDataLoader
        from fuxictr.pytorch.torch_utils import seed_everything
        from fuxictr.utils import load_config
    except ImportError:
        return {"side": "published", "error": 'FuxiCTR is not installed; pip install -e ".[bench]" (fuxictr==2.3.7)'}
    import torch

    from mmbench.run.trainer import tune_cpu_allocator

    meta = workload.load_meta(folder)
    train_cfg = meta["train"]
    if train_cfg.get("threads"):
        torch.set_num_threads(train_cfg["threads"])
    if train_cfg.get("cpu_malloc_tuning", True):
        tune_cpu_allocator()  # the same process setting as the mmbench side gets
    compatibility_shims()
    logging.disable(logging.INFO)

    sys.path.insert(0, str(repo))  # the checkout's own `src` package: Transformer_DCN, MMCTRDataLoader
    src = importlib.import_module("src")
    params = load_config(str(repo / CONFIG), EXPID)
    data_root = folder / "published"
    params.update(workload.write_challenge_parquet(folder, data_root / DATASET_ID))
    params.update(data_root=str(data_root) + "/", test_data=None, gpu=-1, verbose=0,
                  model_root=str(folder / "published_checkpoints") + "/",
                  batch_size=train_cfg["batch_size"], epochs=train_cfg["epochs"],
                  learning_rate=train_cfg["lr"], seed=train_cfg["seed"],
                  early_stop_patience=max(train_cfg["epochs"], params["early_stop_patience"]))
    if meta.get("published_workers") is not None:
        params["num_workers"] = meta["published_workers"]
    items = workload.load_items(folder)
    vocab = {"item_id": len(items["item_likes"]), "item_tags": meta["n_tags"]}
    params["feature_cols"] = [{**c, "vocab_size": vocab.get(c["name"], c.get("vocab_size"))} if "vocab_size" in c
                              else c for c in params["feature_cols"]]

    seed_everything(params["seed"])
    data_dir = os.path.join(params["data_root"], params["dataset_id"])
    build_dataset(FeatureProcessor(**params), **params)  # rebuild_dataset: False → only feature_map.json
    feature_map = FeatureMap(params["dataset_id"], data_dir)
    feature_map.load(os.path.join(data_dir, "feature_map.json"), params)
    feature_map.features["item_emb_d128"]["pretrain_dim"] = int(items["item_vectors"].shape[1])
    model = getattr(src, params["model"])(feature_map, **params)
    os.makedirs(os.path.dirname(model.checkpoint), exist_ok=True)  # what run_expid's set_logger makes
    params["data_loader"] = src.MMCTRDataLoader
    train_gen, valid_gen = RankDataLoader(feature_map, stage="train", **params).make_iterator()
    clock = workload.StepClock(meta["warmup_steps"])
    t0 = time.perf_counter()
    model.fit(ClockedLoader(train_gen, clock), validation_data=valid_gen, **params)
    wall = time.perf_counter() - t0
    logs = model.evaluate(valid_gen)  # the restored best checkpoint, as FuxiCTR reports it
    return {
        "side": "published", "model": "Transformer_DCN (published)", "device": "cpu",
        "threads": torch.get_num_threads(), "fuxictr": fuxictr.__version__,
        "num_workers": params["num_workers"],
        "samples_per_second": clock.samples_per_second(), "measured_steps": len(clock.durations),
        "epochs": model._epoch_index + 1, "train_seconds": wall, "wall_seconds": wall,
        "valid_auc": float(logs["AUC"]), "valid_logloss": float(logs["logloss"]),
        "peak_memory_mb": workload.peak_memory_mb("cpu"),
        "n_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        **workload.gemm_rate(meta),
    }


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    print("BENCH_RESULT " + json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]))), flush=True)
