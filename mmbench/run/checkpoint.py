"""Trained runs on disk: ``$MMBENCH_HOME/runs/<config_hash>/`` with ``model.pt`` and ``run.json``.

``model.pt`` is the model's ``state_dict`` (tensors only, loaded with ``weights_only=True``). The item
vector tables are non-persistent buffers and are not in it: they come back from the embedding cache
(or are recomputed) from the resolved config in ``run.json``. A trainable reducer's weights are
parameters of the model and are in it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..files.atomic import atomic_path, atomic_write_text
from ..errors import MMBenchError, one_line

MODEL_FILE = "model.pt"
RUN_FILE = "run.json"


def runs_root(home: Path) -> Path:
    return Path(home) / "runs"


def save_run(home: Path, resolved, model: torch.nn.Module, row) -> Path:
    """Write the checkpoint, then run.json: a folder with run.json always has a whole model.pt."""
    run_dir = runs_root(home) / resolved.config_hash()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(run_dir / MODEL_FILE) as tmp:
        torch.save(state, tmp)
    info = {
        "config_hash": resolved.config_hash(),
        "config": resolved.recorded_dict(),
        "source": resolved.config.source,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "row": {k: v for k, v in row.as_dict().items() if k != "config"},
    }
    atomic_write_text(run_dir / RUN_FILE, json.dumps(info, indent=1, default=str))
    return run_dir


def load_state(run_dir: Path) -> dict:
    path = Path(run_dir) / MODEL_FILE
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MMBenchError(f"{path} is missing; re-run the config with `mmbench run` to train it again") from None
    except Exception as exc:
        first = one_line(exc).split(". ")[0][:200]  # torch's unpickling errors run to a paragraph
        raise MMBenchError(f"{path} is not a readable checkpoint ({first}); delete {run_dir} "
                           f"and re-run the config with `mmbench run`") from None


def read_run(run_dir: Path) -> dict:
    path = Path(run_dir) / RUN_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        info["config"]
    except FileNotFoundError:
        raise MMBenchError(f"{run_dir} is not a trained run (no {RUN_FILE}); train one with `mmbench run CONFIG`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise MMBenchError(f"{path} is damaged ({exc}); delete {run_dir} and re-run the config with `mmbench run`") from None
    return info
