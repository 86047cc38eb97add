"""Optional contrastive fine-tuning of an encoder's towers before extraction.

InfoNCE (symmetric, in-batch negatives) on two kinds of positive pairs:
- ``title_cover``: an item's title and its cover (needs both towers);
- ``coclick``: two items adjacent in a user's training history (behaviour-aware embeddings), compared
  in the encoder's configured modality. Needs the training split, which mmbench passes to ``encode``
  (``train=``) because the encoder's ``uses_interactions()`` says so.

Fine-tuned weights are cached under ``$MMBENCH_HOME/cache/finetune/<key>/`` where the key hashes the
backbone, every ``finetune_*`` setting, the items and (for co-click pairs) the training histories.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mmbench.files.atomic import atomic_dir
from mmbench.files.cache import content_key
from mmbench.errors import ConfigError
from mmbench.contract.params import Bounds, declare_bounds

from .covers import open_cover
from .device import autocast, num_workers
from .progress import Meter
from .titles import titles_with_fallback

#: rows of the training split mined for co-clicked pairs: plenty for any sensible number of steps
MAX_COCLICK_ROWS = 200_000


@dataclass
class FinetuneParams:
    finetune_steps: int = 0  # 0 = no fine-tuning
    finetune_lr: float = 1e-5
    finetune_batch_size: int = 64
    finetune_pairs: Literal["title_cover", "coclick", "both"] = "title_cover"
    finetune_towers: Literal["both", "text", "image"] = "both"  # which towers get gradients
    finetune_temperature: float = 0.0  # 0 = learn it, starting from the model's logit scale
    finetune_seed: int = 0


declare_bounds(FinetuneParams, finetune_steps=Bounds(ge=0), finetune_lr=Bounds(gt=0),
               finetune_batch_size=Bounds(ge=2, le=2**20), finetune_temperature=Bounds(ge=0),
               finetune_seed=Bounds(ge=0, le=2**32 - 1))


def finetune_settings(params) -> dict:
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(FinetuneParams)}


def uses_coclick(params) -> bool:
    return params.finetune_steps > 0 and params.finetune_pairs in ("coclick", "both")


def coclick_pairs(item_seq: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) item ids adjacent in a history (both real items, different), from a random row sample."""
    rows = item_seq if len(item_seq) <= MAX_COCLICK_ROWS else item_seq[rng.choice(len(item_seq), MAX_COCLICK_ROWS, replace=False)]
    a, b = rows[:, :-1].ravel(), rows[:, 1:].ravel()
    keep = (a > 0) & (b > 0) & (a != b)
    return np.stack([a[keep], b[keep]], axis=1).astype(np.int64)


def info_nce(a, b, log_scale):
    import torch
    import torch.nn.functional as F

    a, b = F.normalize(a.float(), dim=-1), F.normalize(b.float(), dim=-1)
    logits = log_scale.exp().clamp(max=100) * a @ b.T
    labels = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class _Pixels:
    """Decode + transform the covers of a batch of item ids, in threads (PIL releases the GIL)."""

    def __init__(self, towers, items, workers: int):
        self.towers, self.items = towers, items
        self.pool = ThreadPoolExecutor(max(1, workers))

    def __call__(self, ids: np.ndarray):
        import torch

        def one(i):
            path = self.items.image_path(int(i))
            img, _ = open_cover(None if path is None else str(path), self.towers.draft_size)
            return self.towers.image_transform(img)

        return torch.stack(list(self.pool.map(one, ids)))


def _embed(towers, ids, modality: str, titles, pixels, device, precision):
    """Training-time embedding of items in the encoder's modality (fused = mean of normalised towers)."""
    import torch.nn.functional as F

    parts = []
    with autocast(device, precision):
        if modality in ("text", "fused"):
            tokens = {k: v.to(device) for k, v in towers.tokenize([titles[i - 1] for i in ids]).items()}
            parts.append(F.normalize(towers.encode_text(tokens).float(), dim=-1))
        if modality in ("image", "fused"):
            parts.append(F.normalize(towers.encode_image(pixels(ids).to(device)).float(), dim=-1))
    return parts[0] if len(parts) == 1 else sum(parts) / len(parts)


def _trainable(towers, which: str, modality_towers: set[str]) -> dict:
    chosen = {"both": {"text", "image"}, "text": {"text"}, "image": {"image"}}[which] & modality_towers
    if not chosen:
        raise ConfigError(f"encoder.finetune_towers={which!r} trains no tower this encoder has "
                          f"({', '.join(sorted(modality_towers))})")
    ids = {id(p) for t in chosen for p in towers.tower_parameters(t)}
    return {name: p for name, p in towers.module.named_parameters() if id(p) in ids}


def maybe_finetune(towers, items, params, device, ctx, train=None) -> dict | None:
    """Fine-tune ``towers.module`` in place (or load cached fine-tuned weights). Returns its report.
    ``train``: the training split, whose histories give the co-click pairs."""
    if params.finetune_steps == 0:
        return None
    import torch

    has = {"text"} if towers.image_transform is None else {"text", "image"}
    if towers.text_dim == 0:
        has = {"image"}
    if params.finetune_pairs in ("title_cover", "both") and has != {"text", "image"}:
        raise ConfigError("encoder.finetune_pairs: title_cover needs a text and an image tower; "
                          "use finetune_pairs: coclick with this encoder")
    if uses_coclick(params) and train is None:
        raise ConfigError("encoder.finetune_pairs: coclick needs the training histories, but this run gave the "
                          "encoder no training split; run it through `mmbench run`")
    key_inputs = {"towers": towers.identity(), "finetune": finetune_settings(params), "items": items.fingerprint(),
                  "modality": params.modality if uses_coclick(params) else None,
                  **({"train_histories": train.history_fingerprint()} if uses_coclick(params) else {})}
    key = content_key(key_inputs)
    folder = Path(ctx.home) / "cache" / "finetune" / key
    named = _trainable(towers, params.finetune_towers, has)
    if (folder / "weights.pt").exists():
        try:
            state = torch.load(folder / "weights.pt", map_location=device, weights_only=True)
            if set(state) == set(named):
                with torch.no_grad():
                    for name, p in named.items():
                        p.copy_(state[name])
                report = json.loads((folder / "meta.json").read_text())
                report["cache_hit"] = True
                return report
        except Exception:
            pass  # damaged entry: train again and overwrite it

    rng = np.random.default_rng(params.finetune_seed)
    torch.manual_seed(params.finetune_seed)
    titles, empty = titles_with_fallback(items, params.title_fallback)
    pixels = _Pixels(towers, items, num_workers(params.num_workers, device) or 2)
    pair_ids = None
    if params.finetune_pairs in ("title_cover", "both"):
        has_cover = np.fromiter(((p := items.image_path(i)) is not None and p.exists() for i in range(1, items.n_items)),
                                dtype=bool, count=items.n_items - 1)
        pair_ids = np.flatnonzero(has_cover & ~empty) + 1
        if len(pair_ids) < 2:
            raise ConfigError("encoder.finetune_pairs: title_cover needs items with both a title and a cover; found "
                              f"{len(pair_ids)}")
    coclick = None
    if uses_coclick(params):
        coclick = coclick_pairs(train.item_seq, rng)
        if len(coclick) < 2:
            raise ConfigError("encoder.finetune_pairs: coclick found no adjacent item pairs in the training histories")

    for p in towers.module.parameters():
        p.requires_grad_(False)
    for p in named.values():
        p.requires_grad_(True)
    init_scale = towers.logit_scale().detach().float() if hasattr(towers, "logit_scale") else torch.tensor(math.log(1 / 0.07))
    if params.finetune_temperature > 0:
        log_scale = torch.tensor(math.log(1 / params.finetune_temperature), device=device)
        extra = []
    else:
        log_scale = torch.nn.Parameter(init_scale.to(device).clone())
        extra = [log_scale]
    opt = torch.optim.AdamW(list(named.values()) + extra, lr=params.finetune_lr, weight_decay=0.0)
    towers.module.train()
    B, losses, t0 = params.finetune_batch_size, [], time.perf_counter()
    with Meter(ctx.progress, "fine-tune encoder", params.finetune_steps) as meter:
        for _ in range(params.finetune_steps):
            loss = 0.0
            if pair_ids is not None:
                ids = rng.choice(pair_ids, min(B, len(pair_ids)), replace=False)
                with autocast(device, params.precision):
                    tokens = {k: v.to(device) for k, v in towers.tokenize([titles[i - 1] for i in ids]).items()}
                    loss = loss + info_nce(towers.encode_text(tokens), towers.encode_image(pixels(ids).to(device)), log_scale)
            if coclick is not None:
                a, b = coclick[rng.choice(len(coclick), min(B, len(coclick)), replace=False)].T
                ea = _embed(towers, a, params.modality, titles, pixels, device, params.precision)
                eb = _embed(towers, b, params.modality, titles, pixels, device, params.precision)
                loss = loss + info_nce(ea, eb, log_scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            meter.advance(1)
    towers.module.eval()
    for p in towers.module.parameters():
        p.requires_grad_(False)
    pixels.pool.shutdown()

    k = max(1, len(losses) // 10)
    report = {"key": key, "steps": params.finetune_steps, "seconds": round(time.perf_counter() - t0, 2),
              "loss_first": float(np.mean(losses[:k])), "loss_last": float(np.mean(losses[-k:])), "cache_hit": False}
    with atomic_dir(folder) as tmp:
        torch.save({name: p.detach().cpu() for name, p in named.items()}, tmp / "weights.pt")
        (tmp / "meta.json").write_text(json.dumps({**report, "inputs": key_inputs}, indent=1, default=str))
    return report
