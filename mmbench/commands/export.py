"""``mmbench export-embeddings CONFIG.yaml --out PATH``: a Task-1 ``item_info.parquet``.

The config's encoder and (fixed) reducer produce a 128-d vector per item; it is written in the exact
challenge schema (item_id int64, item_tags fixed_size_list<int64>[5], item_emb_d128
fixed_size_list<float64>[128], row 0 all zeros), with ``item_tags`` kept from the source item_info, so
the file can be submitted for Task 1 or fed to the official baseline.
"""
from __future__ import annotations

from pathlib import Path

from ..run import config as config_mod
from ..files import paths
from ..contract.components import RunContext
from ..contract.registry import default_registry
from . import add_set, events_of

WHO = "export-embeddings"


def export_embeddings(resolved, ctx, out: Path) -> dict:
    from ..run import pipeline  # torch and pyarrow: imported when the command runs, not by --help
    from ..challenge.task1 import check_fixed_reducer, check_width, write_item_info

    check_fixed_reducer(resolved, WHO)  # what the config alone tells, before any encoding
    staged = pipeline.prepare(resolved, ctx)
    data, encoding, reduced = staged.data, staged.encoding, staged.reduction.table
    check_width(WHO, resolved.reducer.name, resolved.reducer.create().output_width(), reduced.shape[1],
                encoding.vectors.shape[1])
    write_item_info(out, data, reduced, WHO)
    return {"path": str(out), "items": data.items.n_items, "encode_seconds": encoding.seconds,
            "cache_hit": encoding.cache_hit, "stats": encoding.stats}


def cmd_export(args) -> int:
    from ..run import pipeline
    from ..data import schema

    events = events_of(args)
    out = paths.expand(args.out, "--out")
    if out.is_dir() or args.out.endswith(("/", "\\")):
        out = out / "item_info.parquet"
    paths.writable_file(out, "--out")
    paths.home_dir()
    cfg = config_mod.load(args.config, args.set, required=pipeline.ITEM_SECTIONS)  # a model section is ignored
    resolved = pipeline.resolve(cfg, default_registry(), pipeline.ITEM_SECTIONS)
    info = export_embeddings(resolved, RunContext(events=events), out)
    missing = {k: v for k, v in info["stats"].items() if k.startswith("missing_") and v}
    events.result(f"wrote {info['path']}: {info['items']:,} items x {schema.EMB_DIM} (row 0 zeros), encoder "
                  f"{resolved.encoder.name} + reducer {resolved.reducer.name}"
                  + (" (cached vectors)" if info["cache_hit"] else f" (encoded in {info['encode_seconds']:.1f}s)")
                  + (f"; missing content: {missing}" if missing else ""), **info)
    events.message("Task 1 end to end (this file in a linked copy of the data, the fixed DIN trained on it, its own "
                   "leaderboard): mmbench task1 CONFIG.yaml")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export-embeddings", help="write a Task-1 item_info.parquet (128-d item_emb_d128) from a config")
    p.add_argument("config", help="YAML config (its dataset, encoder and reducer sections; a model section is "
                                  "not needed and is ignored)")
    p.add_argument("--out", required=True, help="output file (or folder: item_info.parquet is written inside it)")
    add_set(p, "override a config value")
    p.set_defaults(func=cmd_export)
