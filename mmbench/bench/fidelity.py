"""``mmbench bench fidelity``: a zoo model beside its authors' own implementation, same data, settings, seeds.

The authors' side runs their ``run_expid.py`` from a temporary copy of their checkout, in their own
Python environment (``--authors-python``), with a config folder holding their experiment edited only
for data paths, vocabulary sizes, epochs, seed and (when asked) batch size. Its per-epoch valid AUC and
train logloss are read from FuxiCTR's log. The zoo side trains the same rows in its own process with
the authors' settings mapped onto the zoo model (``fidelity_pairs``). Both sides get the same seeds.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError, MMBenchError
from . import authors_config, fidelity_stats, fuxictr_log, workload
from .declared import find
from .fidelity_pairs import Pair, pairs, train_params

RUNNER = Path(__file__).with_name("authors_runner.py")
DATASET_ID = "MicroLens_1M_x1"
COPY_IGNORE = shutil.ignore_patterns(".git", "checkpoints", "data", "*.log", "__pycache__", "img")


def check_repo(pair: Pair, repo_arg: str) -> tuple[Path, str, str | None]:
    repo = Path(repo_arg).expanduser().resolve()
    if not repo.is_dir():
        raise ConfigError(f"--authors-repo {repo}: no such folder; give a checkout of {pair.code.repos}")
    for needed in pair.code.needs:
        if not (repo / needed).exists():
            raise ConfigError(f"--authors-repo {repo}: {needed} is missing, so it is not the {pair.code.authors_model} "
                              f"code; give a checkout of {pair.code.repos}")
    for config, expid in pair.code.configs:
        if (repo / config).exists():
            return repo, config, expid
    raise ConfigError(f"--authors-repo {repo}: none of {[c for c, _ in pair.code.configs]} exists; give a checkout of "
                      f"{pair.code.repos}")


def check_python(python: str) -> str:
    path = shutil.which(python) or python
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ConfigError(f"--authors-python {python}: not an executable; give the python of the environment "
                          "that has the authors' FuxiCTR (e.g. /path/venv/bin/python)")
    probe = subprocess.run([path, "-c", "import fuxictr, torch"], capture_output=True, text=True)
    if probe.returncode:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        raise ConfigError(f"--authors-python {python}: cannot import fuxictr and torch ({last}); install the "
                          "authors' environment there (fuxictr==2.3.7)")
    return path


def load_data(root: str | None):
    from ..run import pipeline
    from ..contract.components import RunContext
    from ..contract.registry import default_registry

    ctx = RunContext()
    if root:
        from ..data.reader import load_mmctr

        data = load_mmctr(Path(root), Path(root).name)
    else:
        registry = default_registry()  # the synthetic stand-in: the registered dataset that generates data
        dataset = registry.configure("dataset", registry.generating_dataset(), {"scale": "small"}, "bench fidelity")
        data = pipeline.load_data(dataset, ctx)
    if data.items.load_shipped is None:
        raise ConfigError(f"--root {root}: ships no item_info.parquet item_emb_d128, which both sides read")
    return data, data.items.load_shipped("item_info.parquet", "item_emb_d128")


def prepare(args, folder: Path) -> dict:
    """Save the rows once (the zoo side's arrays) and write them as the challenge's parquet files (the
    authors' side); the same --train-rows subset for both."""
    from .workload import write_challenge_parquet

    data, vectors = load_data(args.root)
    split = data.train
    if args.train_rows and args.train_rows < len(split):
        rows = np.sort(np.random.default_rng(0).choice(len(split), args.train_rows, replace=False))
        split = split.take(rows)
    valid = data.valid
    if args.valid_rows and args.valid_rows < len(valid):
        valid = valid.take(np.sort(np.random.default_rng(1).choice(len(valid), args.valid_rows, replace=False)))
    meta = {"dataset": data.dataset_id, "n_users": data.n_users, "n_tags": data.n_tags, "train_rows": len(split),
            "valid_rows": len(valid), "warmup_steps": args.warmup, "oracle_auc": data.oracle_auc}
    workload.save(folder, split, valid, data.items, vectors, meta)
    paths = write_challenge_parquet(folder, folder / "authors_data" / DATASET_ID)
    write_test_stand_in(Path(paths["valid_data"]))
    meta["vocab"] = {"item_id": int(len(data.items.likes_level)), "item_tags": int(data.n_tags),
                     "likes_level": int(max(11, split.likes_level.max() + 1, valid.likes_level.max() + 1)),
                     "views_level": int(max(11, split.views_level.max() + 1, valid.views_level.max() + 1))}
    return meta


def write_test_stand_in(valid: Path, rows: int = 256) -> None:
    """The 2nd place's run_expid.py scores the test split after training; it gets the first valid rows
    (labels kept, which scoring ignores), so that its run ends as written; nothing reads the scores."""
    import pyarrow.parquet as pq

    table = pq.read_table(valid)
    pq.write_table(table.slice(0, rows), valid.with_name("test.parquet"))


def run_zoo_side(folder: Path, meta: dict, model_params: dict, train: dict, timeout: float | None) -> dict:
    from .train import run_side

    (folder / "meta.json").write_text(json.dumps({**meta, "model": meta["zoo_model"],
                                                   "model_params": model_params, "train": train}))
    r = run_side("mmbench.bench.train_worker", folder, timeout)
    return {"seed": train["seed"], "valid_auc": [h["valid_auc"] for h in r["history"]],
            "train_logloss": [h["train_loss"] for h in r["history"]], "samples_per_second": r["samples_per_second"],
            "peak_memory_mb": r["peak_memory_mb"], "n_params": r["n_params"], "best_valid_auc": r["valid_auc"]}


def run_authors_side(python: str, repo: Path, folder: Path, cfg, meta: dict, seed: int, args, timeout) -> dict:
    copy = folder / f"authors_repo_{seed}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(repo, copy, ignore=COPY_IGNORE)
    model_cfg, dataset_cfg = authors_config.edited(
        cfg, folder / "authors_data" / DATASET_ID, folder / f"authors_checkpoints_{seed}", meta["vocab"],
        args.epochs, seed, args.batch_size, args.patience, args.authors_workers)
    config_dir = authors_config.write(copy / "config" / "mmbench_fidelity", model_cfg, dataset_cfg)
    cmd = [python, str(RUNNER), str(copy), str(config_dir), authors_config.EXPID, str(args.threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=copy,
                              env={**os.environ, "TQDM_DISABLE": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    except subprocess.TimeoutExpired:
        raise MMBenchError(f"the authors' run (seed {seed}) passed --timeout {timeout:g} s") from None
    text = proc.stdout + "\n" + proc.stderr
    record = next((json.loads(line[len("MMBENCH_RUNNER "):]) for line in proc.stdout.splitlines()
                   if line.startswith("MMBENCH_RUNNER ")), None)
    log = fuxictr_log.parse(text)
    if proc.returncode or record is None or not log.valid:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise MMBenchError(f"the authors' run_expid.py failed (seed {seed}, exit {proc.returncode}):\n{tail}")
    seconds = sum(record["train_seconds"])
    epochs = len(log.valid)
    return {"seed": seed, "valid_auc": [m.get("AUC", math.nan) for m in log.valid],
            "train_logloss": log.train_loss[:epochs],
            "samples_per_second": meta["train_rows"] * len(record["train_seconds"]) / seconds if seconds else None,
            "peak_memory_mb": record["peak_memory_mb"], "n_params": log.n_params,
            "best_valid_auc": (log.final or {}).get("AUC"), "fuxictr": record.get("fuxictr")}


#: what must match for --resume to add seeds to a saved comparison
RESUME_KEYS = ("zoo_model", "authors_model", "dataset", "train_rows", "valid_rows", "batch_size",
               "epochs", "threads", "patience", "model_params", "zoo_rng")


#: what the authors' side depends on: --authors-from reuses their runs where these match (the zoo's
#: own settings, zoo_rng and the mapped model params aside, since the authors' code never sees them)
AUTHORS_KEYS = ("authors_model", "authors_config", "dataset", "train_rows", "valid_rows", "batch_size", "epochs",
                "threads", "patience")


def read_saved(path: Path, keys: tuple[str, ...], option: str, advice: str = "") -> tuple:
    """Fields ``keys`` of a saved ``bench fidelity`` JSON, or one line: ``option``, why it is none, ``advice``."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return tuple(saved[k] for k in keys)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{option} not a saved `bench fidelity` result ({exc}){advice}") from None


def differences(old: dict, meta: dict, keys: tuple[str, ...]) -> str:
    """Where a saved comparison's meta ``old`` differs from this one's on ``keys`` ("" where it does not)."""
    differ = [k for k in keys if json.dumps(old.get(k), default=str, sort_keys=True)
              != json.dumps(meta.get(k), default=str, sort_keys=True)]
    return ", ".join(f"{k} {old.get(k)!r} (now {meta.get(k)!r})" for k in differ)


def saved_authors(path: Path, meta: dict) -> dict[int, dict]:
    """seed -> the authors' run of a saved comparison with the same data and settings (``--authors-from``)."""
    old, runs = read_saved(path, ("meta", "authors"), f"--authors-from {path}:")
    shown = differences(old, meta, AUTHORS_KEYS)
    if shown:
        raise ConfigError(f"--authors-from {path}: its authors' runs had other settings: {shown}")
    return {int(r["seed"]): r for r in runs}


def resumed(out: Path, meta: dict) -> tuple[list[dict], list[dict]]:
    """The seeds a saved ``--out`` JSON holds (both sides done), when it measured the same comparison."""
    if not out.is_file():
        return [], []
    old, zoo, authors = read_saved(out, ("meta", "zoo", "authors"), f"--resume: {out} is", "; give another --out")
    shown = differences(old, meta, RESUME_KEYS)
    if shown:
        raise ConfigError(f"--resume: {out} measured another comparison: {shown}; rerun with its settings or "
                          f"give another --out")
    done = {r["seed"] for r in zoo} & {r["seed"] for r in authors}
    return [r for r in zoo if r["seed"] in done], [r for r in authors if r["seed"] in done]


def summarise(pair: Pair, meta: dict, zoo: list[dict], authors: list[dict]) -> dict:
    auc = fidelity_stats.compare([r["valid_auc"] for r in zoo], [r["valid_auc"] for r in authors])
    loss = fidelity_stats.compare([r["train_logloss"] for r in zoo], [r["train_logloss"] for r in authors])
    epochs = []
    for a, l in zip(auc, loss):
        epochs.append({"epoch": a.epoch, "zoo_n": a.a.n, "zoo_auc_mean": a.a.mean, "zoo_auc_sd": a.a.sd,
                       "authors_n": a.b.n, "authors_auc_mean": a.b.mean, "authors_auc_sd": a.b.sd,
                       "delta": a.delta, "ci_low": a.low, "ci_high": a.high, "verdict": a.verdict,
                       "zoo_train_logloss": l.a.mean, "authors_train_logloss": l.b.mean})
    return {"pair": pair.code.name, "meta": meta, "zoo": zoo, "authors": authors, "epochs": epochs,
            "ci": "95 % Welch t interval of the difference of the per-epoch means (seeds unpaired)"}


def _mean(rows: list[dict], key: str) -> float:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else math.nan


def _pm(mean: float, sd: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.4f}" + (f" ± {sd:.4f}" if not math.isnan(sd) else "")


def render(summary: dict) -> str:
    m = summary["meta"]
    zoo, authors = summary["zoo"], summary["authors"]
    lines = [f"pair {summary['pair']}: zoo {m['zoo_model']} ({m['zoo_params_note']}) vs {m['authors_model']} "
             f"({m['authors_config']})",
             f"data {m['dataset']}: {m['train_rows']:,} train rows, {m['valid_rows']:,} valid rows; batch "
             f"{m['batch_size']}; seeds {m['seeds']}; up to {m['epochs']} epochs (early stopping, patience "
             f"{m['patience']}); {m['threads']} thread(s) a side",
             "",
             f"{'epoch':>5}  {'zoo AUC (n)':>22}  {'authors AUC (n)':>22}  {'Δ [95% CI]':>28}  {'verdict':>8}  "
             f"{'zoo loss':>8}  {'auth loss':>9}"]
    for e in summary["epochs"]:
        ci = "" if math.isnan(e["ci_low"]) else f" [{e['ci_low']:+.4f}, {e['ci_high']:+.4f}]"
        delta = "-" if math.isnan(e["delta"]) else f"{e['delta']:+.4f}{ci}"
        zoo_auc = _pm(e["zoo_auc_mean"], e["zoo_auc_sd"]) + f" ({e['zoo_n']})"
        authors_auc = _pm(e["authors_auc_mean"], e["authors_auc_sd"]) + f" ({e['authors_n']})"
        lines.append(f"{e['epoch']:>5}  {zoo_auc:>22}  {authors_auc:>22}  {delta:>28}  {e['verdict']:>8}  "
                     f"{e['zoo_train_logloss']:>8.4f}  {e['authors_train_logloss']:>9.4f}")
    lines += ["", f"{'side':<12}{'samples/s':>11}{'peak MiB':>10}{'parameters':>13}{'best valid AUC':>16}"]
    for name, rows in (("zoo", zoo), ("authors", authors)):
        params = {r["n_params"] for r in rows}
        lines.append(f"{name:<12}{_mean(rows, 'samples_per_second'):>11.1f}{_mean(rows, 'peak_memory_mb'):>10.0f}"
                     f"{', '.join(f'{p:,}' for p in sorted(params, key=lambda p: p or 0)):>13}"
                     f"{_mean(rows, 'best_valid_auc'):>16.4f}")
    lines.append(f"Δ: zoo − authors; {summary['ci']}; verdict 'same' where the CI holds 0 and |Δ| ≤ "
                 f"{fidelity_stats.SAME_WITHIN}. Train loss: FuxiCTR's includes its regulariser, the zoo's does not.")
    return "\n".join(lines)


def render_markdown(summary: dict) -> str:
    """The per-epoch table of a saved ``--out`` JSON, as docs/models.md shows it:
    ``python -c "import json, sys; from mmbench.bench.fidelity import render_markdown;
    print(render_markdown(json.load(open(sys.argv[1]))))" results.json``."""
    lines = ["| epoch | zoo valid AUC (n) | authors' valid AUC (n) | Δ [95 % CI] | verdict | zoo train loss | "
             "authors' train loss |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in summary["epochs"]:
        ci = "" if e["ci_low"] is None or math.isnan(e["ci_low"]) else f" [{e['ci_low']:+.4f}, {e['ci_high']:+.4f}]"
        delta = "—" if math.isnan(e["delta"]) else f"{e['delta']:+.4f}{ci}"
        lines.append(f"| {e['epoch']} | {_pm(e['zoo_auc_mean'], e['zoo_auc_sd'])} ({e['zoo_n']}) | "
                     f"{_pm(e['authors_auc_mean'], e['authors_auc_sd'])} ({e['authors_n']}) | {delta} | {e['verdict']} | "
                     f"{e['zoo_train_logloss']:.4f} | {e['authors_train_logloss']:.4f} |")
    lines += ["", "| side | samples/s | peak MiB | parameters | best valid AUC (mean) |", "| --- | --- | --- | --- | --- |"]
    for name, rows in (("zoo", summary["zoo"]), ("authors", summary["authors"])):
        params = ", ".join(f"{p:,}" for p in sorted({r["n_params"] for r in rows if r["n_params"]}))
        lines.append(f"| {name} | {_mean(rows, 'samples_per_second'):.1f} | {_mean(rows, 'peak_memory_mb'):.0f} | "
                     f"{params} | {_mean(rows, 'best_valid_auc'):.4f} |")
    return "\n".join(lines)


def write_out(path: Path, summary: dict) -> None:
    from ..files.atomic import atomic_path

    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=["pair", *summary["epochs"][0].keys()])
            writer.writeheader()
            for e in summary["epochs"]:
                writer.writerow({"pair": summary["pair"], **e})
            Path(tmp).write_text(buf.getvalue())
        else:
            Path(tmp).write_text(json.dumps(summary, indent=1, default=str, allow_nan=True))


def parse_zoo_set(items: list[str]) -> tuple[dict, dict]:
    """(model params, train settings) from --zoo-set KEY=VALUE / train.KEY=VALUE."""
    import yaml

    model, train = {}, {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or key == "train.":
            raise ConfigError(f"--zoo-set {item!r}: give KEY=VALUE (a model param) or train.KEY=VALUE, e.g. "
                              "attention_padding_stats=false or train.projection_reg=net")
        target, key = (train, key[len("train."):]) if key.startswith("train.") else (model, key)
        target[key] = yaml.safe_load(value)
    return model, train


def check_zoo_train(settings: dict, overrides: dict) -> None:
    """The zoo side's train settings with the --zoo-set train.* overrides, validated before anything runs."""
    from ..contract.params import build_params
    from ..run.trainer import TrainParams

    build_params(TrainParams, {**settings, **overrides}, "--zoo-set (train)")


def cmd_fidelity(args) -> int:
    pair = find("--pair", args.pair, pairs())
    repo, config, expid = check_repo(pair, args.authors_repo)
    if pair.code.unsupported:
        raise ConfigError(f"--pair {pair.code.name}: not comparable: {pair.code.unsupported}")
    if args.out and Path(args.out).suffix not in (".json", ".csv"):
        raise ConfigError(f"--out {args.out}: give a .json or .csv path")
    if args.resume and not (args.out and Path(args.out).suffix == ".json"):
        raise ConfigError("--resume continues the seeds saved in --out: give --out FILE.json")
    cfg = authors_config.resolve(repo, args.authors_config or config, args.authors_expid or expid)
    if cfg.params.get("model") != pair.code.authors_model:
        raise ConfigError(f"{cfg.source}: runs model {cfg.params.get('model')!r}, not {pair.code.authors_model}")
    seeds = args.seeds or [int(cfg.params.get("seed", 20242025))]
    batch_size = args.batch_size or cfg.params["batch_size"]
    params = {**cfg.params, "batch_size": batch_size}
    if args.patience:
        params["early_stop_patience"] = args.patience
    zoo_set, zoo_train = parse_zoo_set(args.zoo_set)
    model_params = {**pair.code.model_params(params), **pair.code.fixed, **zoo_set}
    from ..contract.registry import default_registry

    default_registry().configure("model", pair.zoo_model, model_params, f"--zoo-set ({pair.zoo_model})")
    check_zoo_train(train_params(params, args.epochs, seeds[0], args.threads, args.zoo_rng), zoo_train)
    python = check_python(args.authors_python)
    with tempfile.TemporaryDirectory(prefix="mmbench-fidelity-") as tmp:
        folder = Path(tmp)
        meta = prepare(args, folder)
        meta.update(zoo_model=pair.zoo_model, authors_model=pair.code.authors_model, authors_config=cfg.source,
                    zoo_params_note=", ".join([f"{k}={v}" for k, v in {**pair.code.fixed, **zoo_set}.items()]
                                              + [f"train.{k}={v}" for k, v in zoo_train.items()])
                    or "as configured",
                    batch_size=batch_size, seeds=seeds, epochs=args.epochs, threads=args.threads,
                    patience=params.get("early_stop_patience"), model_params=model_params, zoo_rng=args.zoo_rng)
        zoo, authors = resumed(Path(args.out), meta) if args.resume else ([], [])
        reuse = saved_authors(Path(args.authors_from), meta) if args.authors_from else {}
        if reuse:
            meta["authors_from"] = str(args.authors_from)
        meta["seeds"] = sorted({*seeds, *(r["seed"] for r in authors)})
        for seed in seeds:
            if any(r["seed"] == seed for r in authors):
                print(f"seed {seed}: in {args.out} already (--resume)", file=sys.stderr, flush=True)
                continue
            print(f"seed {seed}: zoo {pair.zoo_model} ...", file=sys.stderr, flush=True)
            settings = {**train_params(params, args.epochs, seed, args.threads, args.zoo_rng), **zoo_train}
            zoo.append(run_zoo_side(folder, meta, model_params, settings, args.timeout))
            if seed in reuse:
                print(f"seed {seed}: authors' {pair.code.authors_model} from {args.authors_from}", file=sys.stderr,
                      flush=True)
                authors.append(reuse[seed])
            else:
                print(f"seed {seed}: authors' {pair.code.authors_model} ...", file=sys.stderr, flush=True)
                try:
                    authors.append(run_authors_side(python, repo, folder, cfg, meta, seed, args, args.timeout))
                except MMBenchError as e:
                    if args.out and authors:
                        raise MMBenchError(f"{e}\n(the {len(authors)} seed(s) finished before it are in "
                                           f"{args.out})") from e
                    raise
            for side, r in (("zoo", zoo[-1]), ("authors'", authors[-1])):
                print(f"seed {seed}: {side} valid AUC by epoch "
                      f"{', '.join(f'{a:.4f}' for a in r['valid_auc'])}", file=sys.stderr, flush=True)
            if args.out:  # after every seed, so a run stopped part-way keeps the seeds it finished
                write_out(Path(args.out), summarise(pair, {**meta, "seeds_done": len(zoo)}, zoo, authors))
    summary = summarise(pair, meta, zoo, authors)
    if args.out:
        write_out(Path(args.out), summary)
    print(json.dumps(summary, indent=1, default=str) if args.json else render(summary))
    return 0


def add_fidelity_action(bench_subparsers) -> None:
    from ..commands import MAX_SEED, number

    p = bench_subparsers.add_parser(
        "fidelity", help="a zoo model beside its authors' code (FuxiCTR) on the same data, settings and seeds")
    # the names come from the models' AUTHORS_CODE, read when the command runs (not to import torch for --help)
    p.add_argument("--pair", required=True, metavar="NAME", help="which zoo model / authors' model, e.g. din, qin, "
                   "transformer_dcn")
    p.add_argument("--authors-repo", required=True, metavar="PATH", help="local checkout of the authors' repository")
    p.add_argument("--authors-python", required=True, metavar="PATH",
                   help="python of the environment with the authors' FuxiCTR (2.3.7)")
    p.add_argument("--authors-config", metavar="PATH", help="config in the repository (default: the pair's)")
    p.add_argument("--authors-expid", metavar="ID", help="experiment id in that config (default: the pair's)")
    p.add_argument("--zoo-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a zoo model param, or a zoo train setting as train.KEY=VALUE (e.g. to measure "
                   "without one of the pair's fidelity settings: train.projection_reg=net)")
    p.add_argument("--root", help="data root in the MMCTR layout (default: synthetic world-2 small)")
    p.add_argument("--seeds", type=number(int, 0, MAX_SEED), nargs="+", help="seeds, each run on both sides (default: the config's)")
    p.add_argument("--epochs", type=number(int, 1, 10_000), default=10, help="most epochs a run trains (default 10)")
    p.add_argument("--patience", type=number(int, 1, 10_000), default=None, help="early-stopping patience, both sides "
                   "(default: the authors' config's)")
    p.add_argument("--batch-size", type=number(int, 2, 1 << 20), default=None, help="both sides (default: the authors' config's)")
    p.add_argument("--train-rows", type=number(int, 0), default=0, help="a fixed random subset of train rows, the same on "
                   "both sides (0 = all)")
    p.add_argument("--valid-rows", type=number(int, 0), default=0, help="a fixed random subset of valid rows, the same on "
                   "both sides (0 = all; fewer rows make each AUC noisier)")
    p.add_argument("--threads", type=number(int, 1, 1024), default=1, help="torch threads a side (default 1)")
    p.add_argument("--authors-workers", type=number(int, 0, 256), default=None,
                   help="the authors' loader worker processes (default: their config's)")
    p.add_argument("--zoo-rng", choices=("split", "shared"), default="split",
                   help="the zoo's train.rng: split (default; like FuxiCTR, training draws apart from the init's) or "
                        "shared (mmbench's default, which replays the init's draws in training)")
    p.add_argument("--authors-from", metavar="FILE.json",
                   help="reuse the authors' runs of these seeds from a saved comparison with the same data and "
                        "settings (their side is deterministic), e.g. to measure another --zoo-rng or --zoo-set")
    p.add_argument("--warmup", type=number(int, 0, 10_000), default=5, help="zoo optimizer steps not timed (default 5)")
    p.add_argument("--timeout", type=number(float, 0, above=True), default=None, help="seconds per run before giving up")
    p.add_argument("--out", metavar="PATH", help="write the per-epoch results (.json or .csv), atomically")
    p.add_argument("--resume", action="store_true",
                   help="keep the seeds already in --out (same comparison) and run only the others: a protocol "
                        "run can span several sessions")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_fidelity)
