"""A ``mmbench tune`` worker over the test fakes, for tests that run searches in subprocesses:
``python tests/tune_worker.py SEARCH.yaml LEADERBOARD_DIR HOME``.

With ``TUNE_WORKER_HOLD=READY_FILE:N`` in its environment the worker stops for good inside the first
epoch report of a trial that starts once N trials are complete, after writing READY_FILE: that trial
is created, marked as this worker's and one epoch in, so a kill from then on lands midway whatever the
machine's load."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep_fakes import make_registry  # noqa: E402


def hold_midway(ready: Path, complete_before: int) -> None:
    import optuna

    report = optuna.trial.Trial.report

    def report_then_hold(trial, value, step):
        report(trial, value, step)
        done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(done) >= complete_before:
            ready.write_text(str(trial.number))
            while True:  # until killed
                time.sleep(60)

    optuna.trial.Trial.report = report_then_hold


def main(argv: list[str]) -> int:
    from mmbench.contract.components import RunContext
    from mmbench.tuning import run, spec

    if os.environ.get("TUNE_WORKER_HOLD"):
        ready, _, count = os.environ["TUNE_WORKER_HOLD"].rpartition(":")
        hold_midway(Path(ready), int(count))
    registry = make_registry()
    search = spec.load(argv[0], registry)
    run.run_tune(search, registry, Path(argv[1]), ctx=RunContext(home=Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
