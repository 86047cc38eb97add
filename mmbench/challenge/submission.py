"""Challenge submission: score a split with a trained run and write ``prediction.csv`` + ``prediction.zip``.

The format (Codabench competition of the WWW 2025 MMCTR challenge): one row per test ``ID`` in ID
order, header ``ID,Task2`` (``ID,Task1`` for a Task-1 run), click probabilities in [0, 1].
"""
from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np

from ..contract.components import RunContext
from ..contract.registry import default_registry
from ..errors import DataError, MMBenchError, one_line
from ..files import paths
from ..files.atomic import atomic_write_bytes, atomic_write_text
from ..run import checkpoint
from ..run import config as config_mod
from ..run.pipeline import build_model, prepare, resolve
from ..run.trainer import predict, resident_tensors, resolve_device
from . import task1

CSV_NAME = "prediction.csv"
ZIP_NAME = "prediction.zip"


@dataclasses.dataclass
class Prediction:
    ids: np.ndarray  # int64, sorted
    probs: np.ndarray  # float, same order
    config_hash: str
    warnings: list[str]


def load_trained(run_dir: Path, registry, ctx: RunContext):
    """(resolved config, data, model with the trained weights, warnings) for a run folder."""
    info = checkpoint.read_run(run_dir)
    resolved = task1.resolve_stored(info["config"], str(Path(run_dir) / checkpoint.RUN_FILE), registry)
    warnings = []
    if resolved.config_hash() != info["config_hash"]:
        warnings.append(f"the config in {run_dir} now resolves to hash {resolved.config_hash()} (was "
                        f"{info['config_hash']}): a plugin's parameters changed since training")
    staged = prepare(resolved, ctx)
    data = staged.data
    model = build_model(resolved, data, staged.reduction)
    state = checkpoint.load_state(run_dir)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        why = one_line(exc, whole=True)[:300]  # torch's line 1 is a header, line 2 names the first key
        raise MMBenchError(f"{run_dir / checkpoint.MODEL_FILE} does not fit model '{resolved.model.name}' as "
                           f"installed now ({why}); re-run the config with `mmbench run`") from None
    return resolved, data, model, warnings


def predict_split(run_dir: Path, registry, ctx: RunContext, split: str = "test", device: str | None = None) -> Prediction:
    resolved, data, model, warnings = load_trained(run_dir, registry, ctx)
    part = getattr(data, split)
    if part is None or len(part) == 0:
        raise DataError(f"dataset '{data.dataset_id}' has no {split} split to predict ({data.root})")
    ids = part.ids if part.ids is not None else np.arange(len(part), dtype=np.int64)
    dev = resolve_device(device or resolved.train.device)
    model.to(dev)
    probs = predict(model, resident_tensors(part, dev), resolved.train.eval_batch_size, resolved.train.amp)
    order = np.argsort(ids, kind="stable")
    return Prediction(ids[order], probs[order], resolved.config_hash(), warnings)


def validate(pred: Prediction, n_rows: int) -> None:
    """The checks Codabench would otherwise fail on: count, ID coverage, finite probabilities."""
    if len(pred.ids) != n_rows or len(pred.probs) != n_rows:
        raise MMBenchError(f"prediction has {len(pred.probs)} rows for {n_rows} test rows")
    if not np.array_equal(pred.ids, np.arange(n_rows)):
        raise MMBenchError(f"prediction IDs do not cover 0..{n_rows - 1} exactly once")
    if not np.all(np.isfinite(pred.probs)) or pred.probs.min(initial=0) < 0 or pred.probs.max(initial=0) > 1:
        raise MMBenchError("prediction has values outside [0, 1] or NaN; the model's logits are not finite")


def write_submission(pred: Prediction, out_dir: Path, task: int = 2) -> tuple[Path, Path]:
    validate(pred, len(pred.ids))
    column = f"Task{task}"
    buf = io.StringIO()
    buf.write(f"ID,{column}\n")
    np.savetxt(buf, np.column_stack([pred.ids, pred.probs]), fmt=["%d", "%.6f"], delimiter=",")
    text = buf.getvalue()
    out_dir = Path(out_dir)
    csv_path, zip_path = out_dir / CSV_NAME, out_dir / ZIP_NAME
    atomic_write_text(csv_path, text)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CSV_NAME, text)
    atomic_write_bytes(zip_path, zbuf.getvalue())
    return csv_path, zip_path


def find_run(ref: str, home: Path, registry=None, overrides: list[str] | None = None, task: int | None = None) -> Path:
    """A run folder from a run dir, a config YAML (its hash), or a config hash or prefix. The YAML is read
    as a Task-1 config when ``task`` is 1, or when ``task`` is None and it has no model section (only a
    Task-1 config, whose model is fixed, leaves it out)."""
    root = checkpoint.runs_root(home)
    path = paths.expand(ref, "run")
    if path.is_dir():
        checkpoint.read_run(path)
        return path
    if path.suffix in (".yaml", ".yml") or path.is_file():
        registry = registry or default_registry()
        if task == 1 or (task is None and "model" not in config_mod.read_yaml(path)):
            resolved, command = task1.resolve(task1.load_config(path, overrides), registry), "task1"
        else:
            resolved, command = resolve(config_mod.load(path, overrides), registry), "run"
        run_dir = root / resolved.config_hash()
        if not (run_dir / checkpoint.RUN_FILE).is_file():
            sets = "".join(f" --set {s}" for s in overrides or [])
            raise MMBenchError(f"no trained run for {path} (config hash {resolved.config_hash()}) in {root}; "
                               f"train it first with `mmbench {command} {path}{sets}`")
        return run_dir
    runs = sorted(p for p in root.iterdir() if (p / checkpoint.RUN_FILE).is_file()) if root.is_dir() else []
    matches = [p for p in runs if p.name.startswith(ref)] if ref else []  # a prefix, never a glob pattern
    if len(matches) == 1:
        return matches[0]
    known = [p.name for p in runs]
    if len(matches) > 1:
        raise MMBenchError(f"config hash prefix '{ref}' is ambiguous: {', '.join(p.name for p in matches)}; give more characters")
    raise MMBenchError(f"'{ref}' is neither a run folder, a config YAML nor the hash of a run in {root} "
                       f"(known: {', '.join(known) or 'none; train one with `mmbench run CONFIG`'})")
