"""``mmbench task1 CONFIG.yaml``: the challenge's Task 1 from an encoder (+ reducer to 128) config: the
128-d item_emb_d128 written into a linked copy of the data, the fixed baseline DIN trained on it, a row
on the Task-1 leaderboard and a checkpoint for ``mmbench predict RUN --task 1`` (mmbench/challenge/task1.py)."""
from __future__ import annotations

from . import add_leaderboard_dir, add_rerun, add_set, events_of


def cmd_task1(args) -> int:
    from ..challenge import task1
    from ..data import schema
    from .run import execute, output_dir, recorded_already, report, resolve_config

    events = events_of(args)
    directory = output_dir(args.leaderboard_dir)
    resolved, registry = resolve_config(args, task1.load_config, task1.resolve)
    if recorded_already(resolved, directory, events, args.rerun):
        return 0
    result, run_dir, path = execute(resolved, registry, directory, events)
    embedding = result.data.root / schema.ITEM_INFO.path
    report(events, result, [
        f"Task-1 embedding: {embedding} (128-d item_emb_d128, row 0 zeros; the other files of {result.data.root} "
        f"are links to the source data)",
        f"model saved to {run_dir} (the Task-1 submission: mmbench predict {resolved.config_hash()} --task 1 --out DIR)",
        f"row appended to {path} (and {path.with_suffix('.md').name})"],
        run_dir=str(run_dir), leaderboard=str(path), embedding=str(embedding))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("task1", help="Task 1: write a 128-d item_emb_d128 from an encoder config, train the "
                                     "fixed baseline DIN on it, record a Task-1 row")
    p.add_argument("config", help="YAML with dataset, encoder and reducer (to 128 dims); optionally "
                                  "model.net_dropout and train.lr / batch_size / embedding_reg / net_reg / seed")
    add_set(p, "override a config value, e.g. --set train.lr=0.002 (repeatable)")
    add_leaderboard_dir(p, "where the Task-1 CSV/markdown rows go (file <dataset>-task1.csv)")
    add_rerun(p)
    p.set_defaults(func=cmd_task1)
