"""The encoder plugin shape shared by ``text``, ``clip`` and ``openclip``: build towers, optionally
fine-tune them, encode every item. A subclass names its ``Params`` and builds its towers.

``timings`` gives ``mmbench bench encode`` four timed passes over the items:
1. decode: covers to model-ready pixels on the device, no model (``decode: pil``: JPEG draft decode in
   the DataLoader workers, resize and crop there too or, with ``resize: device`` (auto on CUDA), on the
   device; ``decode: device``: workers read the files, decode_jpeg — nvJPEG on CUDA — and the resize
   run on the device);
2. image model: the image tower alone on one decoded batch fed again and again;
3. text: tokenisation and the text tower over length-bucketed titles;
4. end to end: the encoder's own path (modality as configured), what a run pays, split into 1-3.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from mmbench.contract.components import Encoded, Encoder
from mmbench.data.types import ItemTable, Split

from .common import Towers, encode_with_towers
from .covers import cover_batches, cover_route
from .device import autocast, batch_sizes, num_workers, pick_device, sync
from .progress import Timing
from .titles import encode_titles
from .finetune import maybe_finetune, uses_coclick



class TowerEncoder(Encoder):
    normalize = True  # L2-normalise each output vector

    def label(self, name: str) -> str:
        # a model built untrained (to try a pipeline offline) must never pass for the real one
        return f"{name} (random weights)" if self.params.random_weights else name

    def uses_interactions(self) -> bool:
        return uses_coclick(self.params)

    def build_towers(self, ctx, device) -> Towers:
        raise NotImplementedError

    def towers(self, ctx, device=None) -> Towers:
        return self.build_towers(ctx, device or pick_device(self.params.device))

    def encode(self, items: ItemTable, ctx, train: Split | None = None, timing: Timing | None = None) -> Encoded:
        device = pick_device(self.params.device)
        towers = self.towers(ctx, device)
        stats = {}
        report = maybe_finetune(towers, items, self.params, device, ctx, train)
        if report is not None:
            stats["finetune"] = report
        vectors = encode_with_towers(towers, items, self.params, device, ctx, self.normalize, timing, stats)
        return Encoded(vectors, stats)

    def timings(self, items: ItemTable, ctx, warmup_batches: int = 2) -> dict:
        import torch

        params = self.params
        device = pick_device(params.device)
        t0 = time.perf_counter()
        towers = self.towers(ctx, device)
        load_s = time.perf_counter() - t0
        n = items.n_items - 1
        image_batch, text_batch = batch_sizes(params, device)
        out = {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "",
               "items": n, "modality": params.modality, "image_batch": image_batch, "text_batch": text_batch,
               "workers": num_workers(params.num_workers, device), "precision": params.precision,
               "load_seconds": round(load_s, 2)}
        if towers.image_transform is not None and params.modality in ("image", "fused"):
            out["cover_route"] = cover_route(towers, params, device)
            out.update(self._image_rates(towers, items, device, image_batch, warmup_batches))
        if params.modality in ("text", "fused"):
            encode_titles(towers, items, params, device, ctx, Timing())  # warm-up pass (kernels, caches)
            timing = Timing()
            encode_titles(towers, items, params, device, ctx, timing)
            out["tokenize_items_per_s"] = round(timing.n_titles / max(timing.tokenize, 1e-9), 1)
            out["text_model_items_per_s"] = round(timing.n_titles / max(timing.text_model, 1e-9), 1)
        timing = Timing()
        t0 = time.perf_counter()
        encode_with_towers(towers, items, params, device, ctx, timing=timing)
        total = time.perf_counter() - t0
        out["end_to_end_items_per_s"] = round(n / total, 1)
        out["end_to_end_seconds"] = round(total, 3)
        out["end_to_end_split_seconds"] = {k: round(v, 3) for k, v in dataclasses.asdict(timing).items()
                                           if not k.startswith("n_")}
        return out

    def _image_rates(self, towers, items: ItemTable, device, image_batch: int, warmup_batches: int) -> dict:
        """Covers decoded per second (no model), then the image tower alone on one decoded batch."""
        import torch

        n = items.n_items - 1
        t0 = time.perf_counter()
        first = None
        for pixels, _ in cover_batches(towers, items, np.arange(1, n + 1), self.params, device):
            first = pixels if first is None else first
        sync(device)
        decode_s = time.perf_counter() - t0
        n_batches = max(1, -(-n // image_batch))
        with torch.inference_mode(), autocast(device, self.params.precision):
            for _ in range(warmup_batches):
                towers.encode_image(first)
            sync(device)
            t0 = time.perf_counter()
            for _ in range(n_batches):
                towers.encode_image(first)
            sync(device)
        return {"decode_items_per_s": round(n / decode_s, 1),
                "image_model_items_per_s": round(n_batches * len(first) / (time.perf_counter() - t0), 1)}
