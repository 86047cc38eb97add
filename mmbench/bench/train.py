"""``mmbench bench train``: training samples/s, time to N epochs, peak memory and valid AUC of a model,
optionally beside another implementation of the same function that the model declares (``--vs NAME``:
its ``PEERS``, e.g. FuxiCTR's DIN, or the published 1st-place Transformer_DCN from a local checkout with
``--published-repo PATH``) on the same arrays with the same shapes.

The parent process loads the data and item vectors once and saves them as .npy; each side then
trains in its own subprocess (so peak memory is per side) and prints one JSON line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..commands import number
from ..errors import ConfigError, MMBenchError
from ..files.userpaths import expand
from .declared import find, model_classes

DEFAULT_SCALE = {"scale": "small", "seed": 0}


def _dataset_section(args, registry) -> dict:
    if args.config:
        from ..run import config as config_mod

        cfg = config_mod.load(args.config, args.set)
        return {"config": cfg}
    section = {"name": registry.generating_dataset(), **DEFAULT_SCALE}
    if args.dataset:
        section = {"name": args.dataset}
    if args.scale:
        section["scale"] = args.scale
    return {"dataset": section}


def prepare(args, folder: Path, peer_owner: str | None = None) -> dict:
    """Load data + item vectors, resolve model/train params, save the workload; returns its meta."""
    from ..run import pipeline
    from ..contract.components import RunContext
    from ..contract.params import build_params, params_to_dict
    from ..contract.registry import default_registry
    from ..run.trainer import TrainParams
    from . import workload

    registry = default_registry()
    ctx = RunContext()
    src = _dataset_section(args, registry)
    if "config" in src:
        cfg = src["config"]
        resolved = pipeline.resolve(cfg, registry)
        data = pipeline.load_data(resolved.dataset, ctx)
        vectors = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx).table
        model_name, model_given, train_given = resolved.model.name, cfg.component_params("model"), dict(cfg.train)
        vector_source = f"{resolved.encoder.name} -> {resolved.reducer.name}"
    else:
        section = {k: v for k, v in src["dataset"].items() if k != "name"}
        dataset = registry.configure("dataset", src["dataset"]["name"], section, f"--dataset {src['dataset']['name']}")
        data = pipeline.load_data(dataset, ctx)
        if data.items.load_shipped is None:
            raise MMBenchError(f"dataset {dataset.name} ships no item embeddings; pass a run config with an encoder")
        vectors = data.items.load_shipped("item_info.parquet", "item_emb_d128")  # what the baseline used
        model_name, model_given, train_given = args.model or peer_owner, {}, {}
        if model_name is None:
            raise ConfigError(f"bench train: give --model NAME (models: {', '.join(registry.names('model'))}) "
                              f"or a run config")
        vector_source = "shipped item_emb_d128"
    model = registry.configure("model", model_name, model_given, f"model ({model_name})")
    model_params = model.params
    train_raw = {**model.component.train_defaults, **train_given}
    for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size), ("threads", args.threads),
                       ("device", args.device)):
        if value is not None:
            train_raw[key] = value
    train_raw.setdefault("patience", args.epochs or 1)
    train_raw["patience"] = max(train_raw["patience"], train_raw.get("epochs", 1))  # fixed epoch count
    train = build_params(TrainParams, train_raw, "bench train")
    split = data.train
    if args.rows and args.rows < len(split):
        split = split.take(np.sort(np.random.default_rng(train.seed).choice(len(split), args.rows, replace=False)))
    check_timed_steps(len(split), train.batch_size, train.epochs, args.warmup, train.accumulation_steps)
    meta = {
        "dataset": data.dataset_id, "model": model_name, "vector_source": vector_source,
        "n_users": data.n_users, "n_tags": data.n_tags, "train_rows": len(split), "valid_rows": len(data.valid),
        "oracle_auc": data.oracle_auc, "warmup_steps": args.warmup,
        "model_params": params_to_dict(model_params), "train": params_to_dict(train),
        "published_workers": args.published_workers,
    }
    count = model.component.factory.flop_count(params_to_dict(model_params), split.item_seq)
    if count:
        meta["floor"] = floor_of(count, train)
    workload.save(folder, split, data.valid, data.items, vectors, meta)
    return meta


def check_timed_steps(rows: int, batch_size: int, epochs: int, warmup: int, accumulate: int = 1) -> None:
    """samples/s is timed over the optimizer steps after the warm-up: a run with no such step measures nothing."""
    batches = -(-rows // batch_size)
    steps = epochs * -(-batches // accumulate)  # an epoch's last batches step too
    if steps <= warmup:
        per = f" in groups of {accumulate}" if accumulate > 1 else ""
        raise ConfigError(
            f"bench train: this run makes {steps} optimizer step(s) ({epochs} epoch(s) x {batches} batches of "
            f"{batch_size} from {rows:,} rows{per}), all inside the {warmup} warm-up steps that are not timed, "
            f"so it would measure no samples/s; lower --warmup, add --epochs or use a smaller --batch-size")


def floor_of(count: dict, train) -> dict:
    """The model's FLOPs per training sample on these rows (``Model.flop_count``) and the fp32 GEMM rate
    of its dominant product (batch x width x width) at the bench's thread count."""
    import torch

    from . import flops

    before = torch.get_num_threads()
    if train.threads:
        torch.set_num_threads(train.threads)
    try:
        gflops = flops.gemm_gflops(train.batch_size, int(count["gemm_width"]))
    finally:
        torch.set_num_threads(before)
    return {"flops": count, "gemm_gflops": gflops, "samples_per_second": gflops * 1e9 / count["total"]}


def run_side(module: str, folder: Path, timeout: float | None, *extra: str) -> dict:
    # -P: never import from the working directory (the repo's model_zoo/ folder would shadow the
    # wheel's model_zoo package that FuxiCTR installs)
    cmd = [sys.executable, "-P", "-m", module, str(folder), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TQDM_DISABLE": "1"})
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT "):])
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    raise MMBenchError(f"{module} failed (exit {proc.returncode}):\n{tail}")


def importable(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


def render(meta: dict, rows: list[dict]) -> str:
    t = meta["train"]
    lines = [
        f"dataset {meta['dataset']}: {meta['train_rows']:,} train rows, {meta['valid_rows']:,} valid rows; "
        f"item vectors: {meta['vector_source']}",
        f"batch {t['batch_size']}, {t['epochs']} epoch(s), device {rows[0]['device']}, "
        f"{rows[0]['threads']} thread(s), samples/s over steps after {meta['warmup_steps']} warm-up steps",
        "",
        f"{'side':<30}{'samples/s':>11}{'steps':>7}{'wall s':>9}{'peak MiB':>10}{'valid AUC':>11}",
    ]
    for r in rows:
        if not r["measured_steps"]:  # e.g. stopped early inside the warm-up: nothing was timed
            lines.append(f"{r['model']:<30}{'not timed':>11}{0:>7}{r['wall_seconds']:>9.1f}"
                         f"{r['peak_memory_mb']:>10.0f}{r['valid_auc']:>11.4f}")
            continue
        lines.append(f"{r['model']:<30}{r['samples_per_second']:>11.1f}{r['measured_steps']:>7}"
                     f"{r['wall_seconds']:>9.1f}{r['peak_memory_mb']:>10.0f}{r['valid_auc']:>11.4f}")
    if len(rows) == 2 and all(r["measured_steps"] for r in rows):
        a, b = rows
        lines.append(f"{'ratio':<30}{a['samples_per_second'] / b['samples_per_second']:>10.2f}x{'':>7}"
                     f"{a['wall_seconds'] / b['wall_seconds']:>9.2f}{a['peak_memory_mb'] / b['peak_memory_mb']:>10.2f}"
                     f"{a['valid_auc'] - b['valid_auc']:>+11.4f}")
    if meta.get("oracle_auc"):
        lines.append(f"oracle AUC {meta['oracle_auc']:.4f}")
    if any("n_params" in r for r in rows):
        lines.append("parameters: " + ", ".join(f"{r['model']} {r['n_params']:,}" for r in rows if "n_params" in r))
    if meta.get("floor"):
        lines += render_floor(meta["floor"], rows)
    return "\n".join(lines)


def render_floor(floor: dict, rows: list[dict]) -> list[str]:
    f = floor["flops"]
    peak = max([floor["gemm_gflops"]] + [r["gemm_gflops"] for r in rows if "gemm_gflops" in r])
    floor = {**floor, "gemm_gflops": peak, "samples_per_second": peak * 1e9 / f["total"]}
    parts = ", ".join(f"{k} {v / 1e9:.3f}" for k, v in f.items() if k not in ("total", "gemm_width", "note"))
    note = f"; {f['note']}" if f.get("note") else ""
    lines = [f"FLOP floor: {f['total'] / 1e9:.3f} GFLOP per training sample ({parts}{note}), fp32 GEMM "
             f"{floor['gemm_gflops']:.0f} GFLOP/s (best of the bench's processes) at batch x {int(f['gemm_width'])} x "
             f"{int(f['gemm_width'])} -> at most {floor['samples_per_second']:.1f} samples/s"]
    for r in rows:
        if r["samples_per_second"]:  # a side with no timed step has no time per sample
            lines.append(f"  {r['model']}: {floor['samples_per_second'] / r['samples_per_second']:.2f}x the floor's "
                         f"time per sample")
    return lines


def peers() -> dict:
    """--vs name -> (the model that declares it, its ``Peer``), from the registered models."""
    return {peer.name: (model, peer) for model, cls in model_classes() for peer in cls.PEERS}


def check_peer(args):
    """The model and ``Peer`` ``--vs`` names, with its checkout and package checked before any work."""
    owner, peer = find("--vs", args.vs, peers())
    repo = None
    if peer.repo:
        if not args.published_repo:
            raise ConfigError(f"--vs {peer.name} needs --published-repo PATH, a checkout of {peer.repo}")
        repo = expand(args.published_repo, "--published-repo").resolve()
        for needed in peer.repo_needs:
            if not (repo / needed).exists():
                raise ConfigError(f"--published-repo {repo}: {needed} is missing; give a checkout of {peer.repo}")
    if peer.requires and not importable(peer.requires):
        raise MMBenchError(f'--vs {peer.name} needs {peer.requires}; install the benchmark extra: pip install -e ".[bench]"')
    if args.config is None and (args.model or owner) != owner:
        raise ConfigError(f"--vs {peer.name} compares {owner} with it; use --model {owner}")
    return owner, peer, repo


def cmd_train(args) -> int:
    owner, peer, repo = check_peer(args) if args.vs else (None, None, None)
    with tempfile.TemporaryDirectory(prefix="mmbench-bench-") as tmp:
        folder = Path(tmp)
        meta = prepare(args, folder, owner)
        if peer is not None and meta["model"] != owner:
            raise ConfigError(f"--vs {peer.name} compares {owner} with it; the config's model is {meta['model']}")
        rows = [run_side("mmbench.bench.train_worker", folder, args.timeout)]
        if peer is not None:
            rows.append(run_side(peer.worker, folder, args.timeout, *([str(repo)] if repo else [])))
        if "error" in rows[-1]:
            raise MMBenchError(rows[-1]["error"])
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    else:
        print(render(meta, rows))
    return 0


def add_train_action(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("train", help="samples/s, time, peak memory and valid AUC of a CTR model")
    p.add_argument("config", nargs="?", help="run config (its dataset/encoder/reducer/model/train); "
                   "default: synthetic small data, shipped item_emb_d128, --model")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--dataset", help="dataset plugin (default: the one that generates data, at small scale)")
    p.add_argument("--scale", help="synthetic scale: tiny, small, medium, full (default small)")
    p.add_argument("--model", default=None, help="model name when no config is given (with --vs: the model that "
                   "declares it)")
    p.add_argument("--epochs", type=number(int, 1), default=None, help="epochs to train (no early stop before)")
    p.add_argument("--batch-size", type=number(int, 1), default=None, help="override the model's train.batch_size")
    p.add_argument("--rows", type=number(int, 0), default=0, help="train on a random subset of this many rows (0 = all)")
    p.add_argument("--warmup", type=number(int, 0), default=5, help="optimizer steps not timed (default 5)")
    p.add_argument("--threads", type=number(int, 1), default=None, help="torch intra-op threads on CPU, both sides")
    p.add_argument("--device", default=None, help="auto, cpu, cuda (default: the model's train.device)")
    # the names come from the models' PEERS, read when the command runs: listing them here would import
    # every model (and torch) for --help
    p.add_argument("--vs", metavar="NAME",
                   help="also train another implementation the model declares, e.g. fuxictr (FuxiCTR's DIN) or "
                        "published-transformer-dcn (the 1st place's code, needs --published-repo), on the same "
                        "data, and print the ratio")
    p.add_argument("--published-repo", metavar="PATH", help="local checkout of the authors' repository, for a --vs "
                   "that runs their code")
    p.add_argument("--published-workers", type=number(int, 0), default=None, metavar="N",
                   help="loader worker processes of the published side (default: its config's num_workers, 3)")
    p.add_argument("--timeout", type=number(float, 0, above=True), default=None, help="seconds per side before giving up")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=cmd_train)
