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

from . import paths
from .atomic import atomic_path, atomic_write_text
from .errors import MMBenchError, one_line

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
        "config": resolved.as_dict(),
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


def find_run(ref: str, home: Path, registry=None, overrides: list[str] | None = None, task: int | None = None) -> Path:
    """A run folder from a run dir, a config YAML (its hash), or a config hash or prefix. The YAML is read
    as a Task-1 config when ``task`` is 1, or when ``task`` is None and it has no model section (only a
    Task-1 config, whose model is fixed, leaves it out)."""
    root = runs_root(home)
    path = paths.expand(ref, "run")
    if path.is_dir():
        read_run(path)
        return path
    if path.suffix in (".yaml", ".yml") or path.is_file():
        from . import config as config_mod
        from . import task1
        from .pipeline import resolve
        from .registry import default_registry

        registry = registry or default_registry()
        if task == 1 or (task is None and "model" not in config_mod.read_yaml(path)):
            resolved, command = task1.resolve(task1.load_config(path, overrides), registry), "task1"
        else:
            resolved, command = resolve(config_mod.load(path, overrides), registry), "run"
        run_dir = root / resolved.config_hash()
        if not (run_dir / RUN_FILE).is_file():
            sets = "".join(f" --set {s}" for s in overrides or [])
            raise MMBenchError(f"no trained run for {path} (config hash {resolved.config_hash()}) in {root}; "
                               f"train it first with `mmbench {command} {path}{sets}`")
        return run_dir
    runs = sorted(p for p in root.iterdir() if (p / RUN_FILE).is_file()) if root.is_dir() else []
    matches = [p for p in runs if p.name.startswith(ref)] if ref else []  # a prefix, never a glob pattern
    if len(matches) == 1:
        return matches[0]
    known = [p.name for p in runs]
    if len(matches) > 1:
        raise MMBenchError(f"config hash prefix '{ref}' is ambiguous: {', '.join(p.name for p in matches)}; give more characters")
    raise MMBenchError(f"'{ref}' is neither a run folder, a config YAML nor the hash of a run in {root} "
                       f"(known: {', '.join(known) or 'none; train one with `mmbench run CONFIG`'})")
