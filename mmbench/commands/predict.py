"""``mmbench predict RUN_OR_CONFIG --split test --out DIR``: a challenge submission from a trained run."""
from __future__ import annotations

from ..output.console import labelled, make_console
from ..errors import MMBenchError
from . import add_set


def cmd_predict(args) -> int:
    from ..run import checkpoint
    from ..files import paths
    from ..challenge import submission, task1
    from ..contract.components import RunContext
    from ..contract.registry import default_registry
    from .plugins import warn_failures

    console, err = make_console(), make_console(stderr=True)
    out = paths.writable_dir(args.out, "--out")
    paths.home_dir()
    if args.device is not None:
        check_device(args.device)
    registry = default_registry()
    warn_failures(registry, err)
    ctx = RunContext()
    run_dir = submission.find_run(args.run, ctx.home, registry, args.set, task=args.task)
    run_task = task1.task_of(checkpoint.read_run(run_dir)["config"])
    if args.task == 1 and run_task != 1:
        raise MMBenchError(f"--task 1: run {run_dir.name} was trained by `mmbench run`, not on a Task-1 embedding "
                           f"with the fixed baseline DIN; make a Task-1 run with `mmbench task1 CONFIG.yaml` and "
                           f"predict that one (or drop --task 1 for a Task-2 submission)")
    task = args.task or run_task
    pred = submission.predict_split(run_dir, registry, ctx, args.split, args.device)
    for line in pred.warnings:
        err.print(labelled("warning", line), soft_wrap=True)
    csv_path, zip_path = submission.write_submission(pred, out, task)
    console.print(f"{len(pred.ids):,} {args.split} rows scored by run {pred.config_hash} "
                  f"(mean probability {pred.probs.mean():.4f})", soft_wrap=True)
    console.print(f"wrote {csv_path} and {zip_path} (ID,Task{task})", soft_wrap=True)
    return 0


def check_device(name: str) -> None:
    """``--device`` as train.device would be checked: its form, and that the device exists."""
    import re

    from ..errors import ConfigError
    from ..contract.params import DEVICE
    from ..run.trainer import resolve_device

    if not re.fullmatch(DEVICE.pattern, name):
        raise ConfigError(f"--device {name!r}: must be {DEVICE.hint}")
    resolve_device(name, "--device")


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="score the test split with a trained run; write prediction.csv/.zip")
    p.add_argument("run", metavar="RUN_OR_CONFIG",
                   help="a config hash (or prefix), a run folder under $MMBENCH_HOME/runs, or the config YAML")
    p.add_argument("--split", choices=["test", "valid"], default="test")
    p.add_argument("--out", required=True, help="folder for prediction.csv and prediction.zip")
    p.add_argument("--task", type=int, choices=[1, 2], default=None,
                   help="the challenge task: column ID,Task1 or ID,Task2 (default: the run's task); 1 only for a "
                        "run of `mmbench task1`")
    add_set(p, "overrides used when RUN_OR_CONFIG is a config YAML (as given to `mmbench run`)")
    p.add_argument("--device", default=None, help="device for scoring (default: the run's train.device)")
    p.set_defaults(func=cmd_predict)
