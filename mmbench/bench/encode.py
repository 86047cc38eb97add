"""``mmbench bench encode``: items/s of an encoder, split into cover decoding and model time.

Four timed passes over the first N items of a dataset:
1. decode: covers to model-ready pixels on the device, no model (``decode: pil``: JPEG draft decode in
   the DataLoader workers, resize and crop there too or, with ``resize: device`` (auto on CUDA), on the
   device; ``decode: device``: workers read the files, decode_jpeg — nvJPEG on CUDA — and the resize
   run on the device);
2. image model: the image tower alone on one decoded batch fed again and again;
3. text: tokenisation and the text tower over length-bucketed titles;
4. end to end: the encoder's own ``encode`` path (modality as configured), what a run pays.
Random weights (``--random-weights``) measure the same speed as trained ones.
"""
from __future__ import annotations

import dataclasses
import json
import time

import numpy as np

from ..data.types import ItemTable
from ..errors import ConfigError


def head(items: ItemTable, n: int) -> ItemTable:
    """The first ``n`` real items (plus padding row 0) of an item table."""
    k = min(items.n_items, n + 1)
    return ItemTable(k, items.item_tags[:k], items.likes_level[:k], items.views_level[:k], items.titles[:k],
                     items.image_dir, None)


def _sync(device):
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def bench_encode(encoder, items: ItemTable, ctx, warmup_batches: int = 2) -> dict:
    """Timed passes of ``encoder`` (a clip/openclip/text encoder instance) over ``items``."""
    import torch
    from mmbench_plugins.encoders import common

    params = encoder.params
    device = common.pick_device(params.device)
    t0 = time.perf_counter()
    towers = encoder.towers(ctx, device)
    load_s = time.perf_counter() - t0
    n = items.n_items - 1
    image_batch, text_batch = common.batch_sizes(params, device)
    workers = common.num_workers(params.num_workers, device)
    out = {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "",
           "items": n, "modality": params.modality, "image_batch": image_batch, "text_batch": text_batch,
           "workers": workers, "precision": params.precision, "load_seconds": round(load_s, 2)}
    has_image = towers.image_transform is not None and params.modality in ("image", "fused")
    if has_image:
        out["cover_route"] = common.cover_route(towers, params, device)
    has_text = params.modality in ("text", "fused")

    if has_image:
        ids = np.arange(1, n + 1)
        t0 = time.perf_counter()
        first = None
        for pixels, _ in common.cover_batches(towers, items, ids, params, device):
            first = pixels if first is None else first
        _sync(device)
        decode_s = time.perf_counter() - t0
        out["decode_items_per_s"] = round(n / decode_s, 1)

        pixels = first
        n_batches = max(1, -(-n // image_batch))
        with torch.inference_mode(), common.autocast(device, params.precision):
            for _ in range(warmup_batches):
                towers.encode_image(pixels)
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(n_batches):
                towers.encode_image(pixels)
            _sync(device)
        out["image_model_items_per_s"] = round(n_batches * len(pixels) / (time.perf_counter() - t0), 1)

    if has_text:
        timing = common.Timing()
        common.encode_titles(towers, items, params, device, ctx, timing)  # warm-up pass (kernels, caches)
        timing = common.Timing()
        common.encode_titles(towers, items, params, device, ctx, timing)
        out["tokenize_items_per_s"] = round(timing.n_titles / max(timing.tokenize, 1e-9), 1)
        out["text_model_items_per_s"] = round(timing.n_titles / max(timing.text_model, 1e-9), 1)

    timing = common.Timing()
    t0 = time.perf_counter()
    common.encode_with_towers(towers, items, params, device, ctx, timing=timing)
    total = time.perf_counter() - t0
    out["end_to_end_items_per_s"] = round(n / total, 1)
    out["end_to_end_seconds"] = round(total, 3)
    out["end_to_end_split_seconds"] = {k: round(v, 3) for k, v in dataclasses.asdict(timing).items()
                                       if not k.startswith("n_")}
    return out


def format_report(r: dict) -> str:
    lines = [f"encode benchmark: {r['items']} items, modality {r['modality']}, device {r['device']} {r['gpu']}".rstrip(),
             f"  batches: image {r['image_batch']}, text {r['text_batch']}; covers: {r.get('cover_route', '-')}, "
             f"decode workers {r['workers']}; "
             f"precision {r['precision']}; model load {r['load_seconds']}s"]
    for key, label in (("decode_items_per_s", "cover decode+resize (no model)"),
                       ("image_model_items_per_s", "image tower (decoded batch, model only)"),
                       ("tokenize_items_per_s", "title tokenisation"),
                       ("text_model_items_per_s", "text tower (model only)"),
                       ("end_to_end_items_per_s", "end to end (encode, as a run pays it)")):
        if key in r:
            lines.append(f"  {label:<42} {r[key]:>10,.1f} items/s")
    split = r["end_to_end_split_seconds"]
    lines.append("  end-to-end split: " + ", ".join(f"{k} {v:.2f}s" for k, v in split.items() if v))
    return "\n".join(lines)


def cmd_encode(args) -> int:
    from rich.console import Console

    from .. import config as config_mod
    from .. import pipeline
    from ..params import build_params, params_to_dict
    from ..registry import default_registry

    overrides = list(args.set)
    if args.random_weights:
        overrides.append("encoder.random_weights=true")
    if args.device:
        overrides.append(f"encoder.device={args.device}")
    cfg = config_mod.load(args.config, overrides)
    registry = default_registry()
    comp = registry.get("encoder", cfg.encoder["name"])
    if not hasattr(comp.factory, "towers"):
        raise ConfigError(f"bench encode: encoder '{comp.name}' has no towers to time (content encoders: clip, openclip, text)")
    params = build_params(comp.params_cls, cfg.component_params("encoder"), f"{cfg.source}: encoder ({comp.name})")
    dcomp = registry.get("dataset", cfg.dataset["name"])
    dparams = build_params(dcomp.params_cls, cfg.component_params("dataset"), f"{cfg.source}: dataset")
    ctx = pipeline.RunContext()
    data = dcomp.factory().load(dparams, ctx)
    items = head(data.items, args.limit) if args.limit else data.items
    report = bench_encode(comp.factory(params), items, ctx)
    report["encoder"] = comp.name
    report["params"] = params_to_dict(params)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        Console(highlight=False).print(format_report(report))
    return 0


def add_encode_action(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("encode", help="items/s of the config's encoder, split into decode and model time")
    p.add_argument("config", help="YAML config (its dataset and encoder sections are used)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--limit", type=int, default=2000, help="first N items of the dataset (0 = all; default 2000)")
    p.add_argument("--random-weights", action="store_true",
                   help="build the architecture from its config with random weights (same speed, no download)")
    p.add_argument("--device", default="", help="override encoder.device (auto, cpu, cuda, cuda:N)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_encode)
