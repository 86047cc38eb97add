"""The FuxiCTR side of ``mmbench bench train --vs fuxictr``: FuxiCTR's own DIN (the LongCTR ``DIN`` that
ships in the ``fuxictr`` wheel, the model of the MMCTR challenge's baseline) trained by FuxiCTR's own
``BaseModel.fit`` on the saved workload. Run in its own process:
``python -P -m mmbench_zoo.din.vs_fuxictr WORKDIR``; prints one JSON line.

Only glue lives here: the feature map (the same item-side features and widths as mmbench's
``ItemEncoder``) and a loader that yields what that DIN's ``forward`` takes — ``(batch_dict,
item_dict, mask)`` with the item-side features of ``[history..., target]`` per row, like FuxiCTR's
``LongCTRDataLoader``, but gathered with numpy from the resident arrays.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from mmbench.bench import workload

MISSING = ("FuxiCTR's LongCTR DIN (model_zoo.LongCTR.DIN) is not importable: it ships in the fuxictr wheel "
           "from 2.3.9 on (the bench extra pins 2.3.7 for --vs published-transformer-dcn): pip install 'fuxictr>=2.3.9'")


class ItemSideLoader:
    """Batches of (batch_dict, item_dict, mask) in FuxiCTR's LongCTR format."""

    def __init__(self, split, items, batch_size: int, shuffle: bool, seed: int, clock=None):
        self.split, self.batch_size, self.shuffle, self.clock = split, batch_size, shuffle, clock
        self.rng = np.random.default_rng(seed)
        self.tags = items["item_tags"].astype(np.int64)
        self.vectors = items["item_vectors"]
        likes, views = items["item_likes"].astype(np.int64), items["item_views"].astype(np.int64)
        # likes and views of an item as one categorical (1 + 11*likes + views); 0 is the padding item
        self.levels = np.where(np.arange(len(likes)) == 0, 0, 1 + 11 * likes + views)
        self.n = len(split)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def batch(self, rows: np.ndarray):
        s = self.split
        seq = s.item_seq[rows]
        # like LongCTRDataLoader: pad to the longest history of the batch (left-padded layout)
        width = int((seq != 0).sum(1).max()) if len(rows) else 0
        seq = seq[:, seq.shape[1] - max(width, 1):].astype(np.int64)
        ids = np.concatenate([seq, s.item_id[rows, None].astype(np.int64)], axis=1).reshape(-1)
        batch_dict = {
            "likes_level": torch.from_numpy(s.likes_level[rows].astype(np.int64)),
            "views_level": torch.from_numpy(s.views_level[rows].astype(np.int64)),
            "label": torch.from_numpy(s.label[rows]),
        }
        item_dict = {
            "item_id": torch.from_numpy(ids),
            "item_tags": torch.from_numpy(self.tags[ids]),
            "item_emb": torch.from_numpy(self.vectors[ids]),
            "item_levels": torch.from_numpy(self.levels[ids]),
        }
        return batch_dict, item_dict, torch.from_numpy(seq != 0).float()

    def __iter__(self):
        order = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        starts = range(0, self.n, self.batch_size)
        if self.clock is not None:
            self.clock.epoch_start()
        for i, start in enumerate(starts):
            rows = order[start:start + self.batch_size]
            yield self.batch(rows)
            # back here = the model finished its step on this batch; the last step of an epoch is
            # followed by FuxiCTR's evaluation inside the same loop iteration, so it is not timed
            if self.clock is not None and i < len(starts) - 1:
                self.clock.tick(len(rows))


def feature_map(meta: dict, dim: int):
    from fuxictr.features import FeatureMap

    fmap = FeatureMap("mmbench_bench", "")
    fmap.labels = ["label"]
    fmap.default_emb_dim = dim
    fmap.features = OrderedDict([
        ("likes_level", {"type": "categorical", "vocab_size": 11, "source": "", "embedding_dim": dim}),
        ("views_level", {"type": "categorical", "vocab_size": 11, "source": "", "embedding_dim": dim}),
        ("item_id", {"type": "categorical", "vocab_size": meta["n_items"], "padding_idx": 0, "source": "item",
                     "embedding_dim": dim}),
        ("item_tags", {"type": "sequence", "vocab_size": meta["n_tags"], "padding_idx": 0, "max_len": 5,
                       "source": "item", "embedding_dim": dim,
                       "feature_encoder": "layers.MaskedAveragePooling()"}),
        ("item_emb", {"type": "embedding", "source": "item", "pretrain_dim": meta["vec_dim"], "embedding_dim": dim}),
        ("item_levels", {"type": "categorical", "vocab_size": 1 + 11 * 11, "padding_idx": 0, "source": "item",
                         "embedding_dim": dim}),
    ])
    fmap.num_fields = len(fmap.features)
    return fmap


def run(folder: Path) -> dict:
    try:
        from model_zoo.LongCTR.DIN import DIN  # shipped in the fuxictr wheel
    except ImportError:
        return {"side": "fuxictr", "error": MISSING}
    from mmbench.run.trainer import resolve_device, seed_everything, tune_cpu_allocator

    meta = workload.load_meta(folder)
    train_cfg, p = meta["train"], meta["model_params"]
    threads = train_cfg.get("threads", 0)
    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(train_cfg.get("device", "auto"))
    if device.type == "cpu" and train_cfg.get("cpu_malloc_tuning", True):
        tune_cpu_allocator()  # the same process setting as the mmbench side gets
    seed_everything(train_cfg["seed"])
    logging.disable(logging.INFO)
    train, valid = workload.load_split(folder, "train"), workload.load_split(folder, "valid")
    items = workload.load_items(folder)
    meta = {**meta, "n_items": len(items["item_likes"]), "vec_dim": items["item_vectors"].shape[1]}
    clock = workload.StepClock(meta["warmup_steps"], torch.cuda.synchronize if device.type == "cuda" else None)
    bs = train_cfg["batch_size"]
    train_gen = ItemSideLoader(train, items, bs, True, train_cfg["seed"], clock)
    valid_gen = ItemSideLoader(valid, items, train_cfg.get("eval_batch_size", 8192), False, 0)
    model = DIN(
        feature_map(meta, p["embedding_dim"]), model_id="DIN_bench",
        gpu=device.index or 0 if device.type == "cuda" else -1,
        dnn_hidden_units=p["dnn_hidden"], dnn_activations="ReLU",
        attention_hidden_units=p["attention_hidden"], attention_hidden_activations=p["attention_activation"].capitalize()
        if p["attention_activation"] != "dice" else "Dice",
        attention_dropout=p["attention_dropout"], din_use_softmax=p["use_softmax"],
        embedding_dim=p["embedding_dim"], net_dropout=p["net_dropout"], batch_norm=p["batch_norm"],
        learning_rate=train_cfg["lr"], optimizer="adam", loss="binary_crossentropy",
        embedding_regularizer=train_cfg.get("embedding_reg", 0.0) or None,
        net_regularizer=train_cfg.get("net_reg", 0.0) or None,
        metrics=["AUC", "logloss"], monitor="AUC", monitor_mode="max",
        early_stop_patience=train_cfg.get("patience", 2),
        reduce_lr_on_plateau=train_cfg.get("plateau_lr_factor", 1.0) < 1.0,
        model_root=str(folder / "fuxictr_checkpoints"), verbose=0,
    )
    os.makedirs(os.path.dirname(model.checkpoint), exist_ok=True)  # FuxiCTR's run_expid makes it
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    model.fit(train_gen, epochs=train_cfg["epochs"], validation_data=valid_gen,
              max_gradient_norm=train_cfg.get("grad_clip") or 10.0)
    wall = time.perf_counter() - t0
    logs = model.evaluate(valid_gen)  # the restored best checkpoint, as FuxiCTR reports it
    return {
        "side": "fuxictr", "model": "din (fuxictr)", "device": str(device), "threads": torch.get_num_threads(),
        "samples_per_second": clock.samples_per_second(), "measured_steps": len(clock.durations),
        "epochs": model._epoch_index + 1, "train_seconds": wall, "wall_seconds": wall,
        "valid_auc": float(logs["AUC"]), "valid_logloss": float(logs["logloss"]),
        "peak_memory_mb": workload.peak_memory_mb(device),
    }


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    print("BENCH_RESULT " + json.dumps(run(Path(sys.argv[1]))), flush=True)
