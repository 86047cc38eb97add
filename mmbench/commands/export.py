"""``mmbench export-embeddings CONFIG.yaml --out PATH``: a Task-1 ``item_info.parquet``.

The config's encoder and (fixed) reducer produce a 128-d vector per item; it is written in the exact
challenge schema (item_id int64, item_tags fixed_size_list<int64>[5], item_emb_d128
fixed_size_list<float64>[128], row 0 all zeros), with ``item_tags`` kept from the source item_info, so
the file can be submitted for Task 1 or fed to the official baseline.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import config as config_mod
from .. import paths, pipeline
from ..atomic import atomic_path
from ..components import RunContext, TrainableReducer
from ..data import schema
from ..errors import ConfigError, DataError
from ..registry import default_registry


def source_item_tags(data) -> np.ndarray:
    """item_tags exactly as the source item_info.parquet holds them (int64), else from the item table."""
    path = Path(data.root) / schema.ITEM_INFO.path
    if path.is_file():
        table = pq.read_table(path, columns=["item_id", "item_tags"])
        ids = table.column("item_id").to_numpy()
        if len(ids) == data.items.n_items and np.array_equal(ids, np.arange(len(ids))):
            flat = table.column("item_tags").combine_chunks().flatten().to_numpy()
            return flat.reshape(len(ids), schema.ITEM_INFO.column("item_tags").type.list_size).astype(np.int64)
    return np.asarray(data.items.item_tags, dtype=np.int64)


def check_export_width(reducer: str, asked: int | None, width: int, encoder_width: int | None = None) -> None:
    """Task 1 needs 128-d vectors; say which setting to change to get them."""
    if width == schema.EMB_DIM:
        return
    if asked == schema.EMB_DIM:
        fix = (f"reducer '{reducer}' was asked for {asked} dims but gives {width} (the encoder gives {encoder_width}-d "
               f"vectors); use an encoder with at least {schema.EMB_DIM} dims")
    else:
        fix = f"use a reducer with dim {schema.EMB_DIM}: --set reducer.name=pca --set reducer.dim={schema.EMB_DIM}"
    raise ConfigError(f"export-embeddings: reducer '{reducer}' gives {width}-d vectors; Task 1 needs "
                      f"{schema.EMB_DIM}. {fix}")


def item_info_table(vectors: np.ndarray, item_tags: np.ndarray) -> pa.Table:
    n, dim = vectors.shape
    vecs = np.asarray(vectors, dtype=np.float64).copy()
    vecs[0] = 0.0  # padding row stays zero
    tags_type = schema.ITEM_INFO.column("item_tags").type
    emb_type = schema.ITEM_INFO.column("item_emb_d128").type
    columns = [
        pa.array(np.arange(n, dtype=np.int64), schema.INT),
        pa.FixedSizeListArray.from_arrays(pa.array(item_tags.reshape(-1), pa.int64()), tags_type.list_size),
        pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float64()), dim),
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema([pa.field("item_id", schema.INT),
                                                           pa.field("item_tags", tags_type),
                                                           pa.field("item_emb_d128", emb_type)]))


def check_exportable(resolved) -> None:
    """What can be told from the config alone, before any encoding: a fixed reducer asked for 128 dims."""
    red = resolved.reducer
    if issubclass(red.component.factory, TrainableReducer):
        raise ConfigError(f"export-embeddings: reducer '{red.name}' is trained with a CTR model, so it has no fixed "
                          "item embedding to export; use a fixed reducer: --set reducer.name=pca --set reducer.dim=128")
    asked = getattr(red.params, "dim", None)
    if isinstance(asked, int):
        check_export_width(red.name, asked, asked)


def export_embeddings(resolved, ctx, out: Path) -> dict:
    check_exportable(resolved)
    data = pipeline.load_data(resolved.dataset, ctx)
    encoding = pipeline.encode_items(resolved, data, ctx)
    reduced = pipeline.reduce_items(resolved, encoding, ctx).table
    check_export_width(resolved.reducer.name, getattr(resolved.reducer.params, "dim", None), reduced.shape[1],
                       encoding.vectors.shape[1])
    tags = source_item_tags(data)
    if tags.shape != (data.items.n_items, schema.ITEM_INFO.column("item_tags").type.list_size):
        raise DataError(f"export-embeddings: item_tags of shape {tags.shape} do not match {data.items.n_items} items")
    table = item_info_table(reduced, tags)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return {"path": str(out), "items": data.items.n_items, "encode_seconds": encoding.seconds,
            "cache_hit": encoding.cache_hit, "stats": encoding.stats}


def cmd_export(args) -> int:
    from rich.console import Console

    from .run import make_progress

    console = Console(highlight=False)
    out = Path(args.out).expanduser()
    if out.is_dir() or args.out.endswith(("/", "\\")):
        out = out / "item_info.parquet"
    paths.writable_file(out, "--out")
    paths.home_dir()
    cfg = config_mod.load(args.config, args.set)
    resolved = pipeline.resolve(cfg, default_registry())
    with make_progress(console) as progress:
        ctx = RunContext(device=resolved.train.device, progress=progress)
        info = export_embeddings(resolved, ctx, out)
    missing = {k: v for k, v in info["stats"].items() if k.startswith("missing_") and v}
    console.print(f"wrote {info['path']}: {info['items']:,} items x {schema.EMB_DIM} (row 0 zeros), encoder "
                  f"{resolved.encoder.name} + reducer {resolved.reducer.name}"
                  + (" (cached vectors)" if info["cache_hit"] else f" (encoded in {info['encode_seconds']:.1f}s)")
                  + (f"; missing content: {missing}" if missing else ""))
    console.print("Task 1: put it at MicroLens_1M_x1/item_info.parquet of the baseline's data folder, train the fixed DIN, "
                  "submit its prediction.csv as ID,Task1")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export-embeddings", help="write a Task-1 item_info.parquet (128-d item_emb_d128) from a config")
    p.add_argument("config", help="YAML config (dataset, encoder and reducer sections are used)")
    p.add_argument("--out", required=True, help="output file (or folder: item_info.parquet is written inside it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.set_defaults(func=cmd_export)
