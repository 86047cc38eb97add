"""Helpers for experiment-tracker plugins (MLflow ships with mmbench; W&B or TensorBoard are written
the same way by anyone): which runs to track, the config as flat parameters, a learning-curve chart.

A tracker is a component (``components.Tracker``, registered through ``register_trackers``); the
registry makes one for each run that asks for it: its name in the run's ``train.track``
(``track: mlflow`` or ``track: [mlflow, wandb]``) or in the environment variable ``MMBENCH_TRACK``
(comma-separated). Tracking is off by default, and a tracker imports its library only for a run it
tracks. ``train.track`` does not enter the config hash: tracking a run does not change its result.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..files.atomic import atomic_path
from ..errors import ConfigError, short
from .params import did_you_mean

ENV = "MMBENCH_TRACK"


def _environment() -> set[str]:
    return {n.strip() for n in os.environ.get(ENV, "").split(",") if n.strip()}


def _configured(track: str | list[str]) -> set[str]:
    return {n for n in ([track] if isinstance(track, str) else track) if n}


def requested(run) -> set[str]:
    """The tracker names asked for by ``run`` (a ``pipeline.Resolved``) and the environment."""
    return _environment() | _configured(getattr(run.train, "track", "") or "")


def check(track: str | list[str], installed: list[str], where: str) -> None:
    """One ConfigError for a tracker name (in ``train.track`` or ``MMBENCH_TRACK``) no plugin provides."""
    for name, source in [(n, f"{where}.track") for n in sorted(_configured(track))] + \
                        [(n, f"environment variable {ENV}") for n in sorted(_environment())]:
        if name not in installed:
            raise ConfigError(f"{source}: no tracker '{short(name, 60)}'{did_you_mean(name, installed)}; "
                              f"installed trackers: {', '.join(installed) or 'none'} (docs/tracking.md)")


def flat_params(config: dict, prefix: str = "") -> dict[str, str]:
    """``{'model.embedding_dim': '64', ...}``: a resolved config as the flat string parameters trackers show."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat_params(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out


def learning_curve(history: list, path: Path, title: str) -> Path:
    """A PNG of the train loss and the valid metrics per epoch (``trainer.EpochLog`` list)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [log.epoch for log in history]
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    loss_ax.plot(epochs, [log.train_loss for log in history], "o-", label="train loss")
    loss_ax.plot(epochs, [log.valid.get("logloss") for log in history], "s-", label="valid logloss")
    loss_ax.set_xlabel("epoch")
    loss_ax.legend(fontsize=8)
    for key in ("auc", "gauc"):
        metric_ax.plot(epochs, [log.valid.get(key) for log in history], "o-", label=f"valid {key}")
    metric_ax.set_xlabel("epoch")
    metric_ax.legend(fontsize=8)
    for ax in (loss_ax, metric_ax):
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
