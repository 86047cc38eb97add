"""``mmbench bench encode``: items/s of an encoder over the first N items of a dataset.

An encoder that knows its parts times them itself (``Encoder.timings``): the content encoders (clip,
openclip, text) report cover decoding, the image tower, tokenisation and the text tower apart, and the
end-to-end pass split into them (plugins/encoders/tower_encoder.py). Any other encoder is timed end
to end here. Random weights (``--random-weights``) measure the same speed as trained ones.
"""
from __future__ import annotations

import json
import time

from ..commands import number

from ..data.types import ItemTable


def head(items: ItemTable, n: int) -> ItemTable:
    """The first ``n`` real items (plus padding row 0) of an item table."""
    k = min(items.n_items, n + 1)
    return ItemTable(k, items.item_tags[:k], items.likes_level[:k], items.views_level[:k], items.titles[:k],
                     items.image_dir, None)


def bench_encode(encoder, items: ItemTable, ctx) -> dict:
    """The encoder's own timed passes (``Encoder.timings``: decode, towers, ... of a content encoder) or,
    for an encoder without them, one end-to-end pass timed here."""
    report = encoder.timings(items, ctx)
    if report is None:
        t0 = time.perf_counter()
        encoder.encode(items, ctx)
        total = time.perf_counter() - t0
        report = {"items": items.n_items - 1, "end_to_end_items_per_s": round((items.n_items - 1) / total, 1),
                  "end_to_end_seconds": round(total, 3)}
    return report


def format_report(r: dict) -> str:
    lines = [f"encode benchmark: {r['items']} items" + (f", modality {r['modality']}, device {r['device']} {r['gpu']}".rstrip()
                                                        if "modality" in r else "")]
    if "image_batch" in r:
        lines.append(f"  batches: image {r['image_batch']}, text {r['text_batch']}; covers: {r.get('cover_route', '-')}, "
                     f"decode workers {r['workers']}; precision {r['precision']}; model load {r['load_seconds']}s")
    for key, label in (("decode_items_per_s", "cover decode+resize (no model)"),
                       ("image_model_items_per_s", "image tower (decoded batch, model only)"),
                       ("tokenize_items_per_s", "title tokenisation"),
                       ("text_model_items_per_s", "text tower (model only)"),
                       ("end_to_end_items_per_s", "end to end (encode, as a run pays it)")):
        if key in r:
            lines.append(f"  {label:<42} {r[key]:>10,.1f} items/s")
    split = r.get("end_to_end_split_seconds", {})
    if split:
        lines.append("  end-to-end split: " + ", ".join(f"{k} {v:.2f}s" for k, v in split.items() if v))
    return "\n".join(lines)


def cmd_encode(args) -> int:
    from ..output.console import make_console
    from ..run import config as config_mod
    from ..run import pipeline
    from ..contract.components import RunContext
    from ..contract.params import params_to_dict
    from ..contract.registry import default_registry

    overrides = list(args.set)
    if args.random_weights:
        overrides.append("encoder.random_weights=true")
    if args.device:
        overrides.append(f"encoder.device={args.device}")
    cfg = config_mod.load(args.config, overrides)
    resolved = pipeline.resolve(cfg, default_registry())
    encoder = resolved.encoder
    ctx = RunContext()
    data = pipeline.load_data(resolved.dataset, ctx)
    items = head(data.items, args.limit) if args.limit else data.items
    report = encoder.component.call("to be timed", bench_encode, encoder.create(), items, ctx)
    report["encoder"] = encoder.name
    report["params"] = params_to_dict(encoder.params)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        make_console().print(format_report(report))
    return 0


def add_encode_action(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("encode", help="items/s of the config's encoder, split into decode and model time")
    p.add_argument("config", help="YAML config (its dataset and encoder sections are used)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--limit", type=number(int, 0), default=2000, help="first N items of the dataset (0 = all; default 2000)")
    p.add_argument("--random-weights", action="store_true",
                   help="build the architecture from its config with random weights (same speed, no download)")
    p.add_argument("--device", default="", help="override encoder.device (auto, cpu, cuda, cuda:N)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_encode)
