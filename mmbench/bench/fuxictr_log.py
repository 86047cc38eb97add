"""Per-epoch numbers from a FuxiCTR run's log (what ``BaseModel.fit`` logs, FuxiCTR 2.x):

    Total number of parameters: 3262594.
    Train loss: 0.512345                      <- mean training loss (+ regulariser) of the epoch
    [Metrics] AUC: 0.612345 - logloss: 0.5...  <- that epoch's validation
    ****** Validation evaluation ******
    [Metrics] AUC: ...                        <- the restored best epoch, after training

With ``eval_steps`` unset FuxiCTR evaluates once per epoch, so the k-th ``[Metrics]`` line before
"Validation evaluation" is epoch k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_METRICS = re.compile(r"\[Metrics\]\s*(.*)$")
_PAIR = re.compile(r"([A-Za-z_][\w@]*):\s*(-?[0-9.]+(?:e-?\d+)?|nan|inf)")
_TRAIN_LOSS = re.compile(r"Train loss:\s*(-?[0-9.]+(?:e-?\d+)?|nan|inf)")
_PARAMS = re.compile(r"Total number of parameters:\s*(\d+)")
_FINAL = "Validation evaluation"


@dataclass
class FuxiLog:
    valid: list[dict[str, float]] = field(default_factory=list)  # per epoch
    train_loss: list[float] = field(default_factory=list)  # per epoch
    final: dict[str, float] | None = None  # the restored best model's validation
    n_params: int | None = None


def parse(text: str) -> FuxiLog:
    log = FuxiLog()
    after_training = False
    for line in text.splitlines():
        if _FINAL in line:
            after_training = True
            continue
        if m := _PARAMS.search(line):
            log.n_params = int(m.group(1))
        elif m := _TRAIN_LOSS.search(line):
            if not after_training:
                log.train_loss.append(float(m.group(1)))
        elif m := _METRICS.search(line):
            metrics = {k: float(v) for k, v in _PAIR.findall(m.group(1))}
            if after_training:
                log.final = metrics
            else:
                log.valid.append(metrics)
    return log
