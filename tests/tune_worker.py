"""A ``mmbench tune`` worker over the test fakes, for tests that run searches in subprocesses:
``python tests/tune_worker.py SEARCH.yaml LEADERBOARD_DIR HOME``."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep_fakes import make_registry  # noqa: E402


def main(argv: list[str]) -> int:
    from mmbench.contract.components import RunContext
    from mmbench.tuning import run, spec

    registry = make_registry()
    search = spec.load(argv[0], registry)
    run.run_tune(search, registry, Path(argv[1]), ctx=RunContext(home=Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
