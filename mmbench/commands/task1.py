"""``mmbench task1 CONFIG.yaml``: the challenge's Task 1 from an encoder (+ reducer to 128) config: the
128-d item_emb_d128 written into a linked copy of the data, the fixed baseline DIN trained on it, a row
on the Task-1 leaderboard and a checkpoint for ``mmbench predict RUN --task 1`` (mmbench/task1.py)."""
from __future__ import annotations

from rich.console import Console

from . import add_leaderboard_dir, add_rerun, add_set


def cmd_task1(args) -> int:
    from .. import task1
    from ..data import schema
    from ..registry import default_registry
    from .plugins import warn_failures
    from .run import execute, output_dir, recorded_already

    console = Console(highlight=False)
    directory = output_dir(args.leaderboard_dir)
    registry = default_registry()
    warn_failures(registry, Console(stderr=True, highlight=False))
    resolved = task1.resolve(task1.load_config(args.config, args.set), registry)
    if recorded_already(resolved, directory, console, args.rerun):
        return 0
    result, run_dir, path = execute(resolved, registry, directory, console)
    console.print(f"Task-1 embedding: {result.data.root / schema.ITEM_INFO.path} (128-d item_emb_d128, row 0 zeros; "
                  f"the other files of {result.data.root} are links to the source data)", soft_wrap=True)
    console.print(f"model saved to {run_dir} (the Task-1 submission: mmbench predict {resolved.config_hash()} "
                  f"--task 1 --out DIR)", soft_wrap=True)
    console.print(f"row appended to {path} (and {path.with_suffix('.md').name})", soft_wrap=True)
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
