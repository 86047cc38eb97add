"""Train any CTR model: resident tensors, batches gathered by index, early stopping on valid AUC."""
from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn

from .callbacks import Callbacks, EpochLog  # noqa: F401 - trainer.Callbacks/EpochLog: their old home
from ..data.types import Split
from ..errors import MMBenchError
from ..contract.features import BATCH_KEYS
from .metrics import evaluate
from ..contract.params import DEVICE, added_later, bounded, check_bounds
from ..contract.components import PRETRAINED_PROJECTION


_INT32 = 2**31 - 1


#: train settings that do not change what a run computes: left out of its config (and so of its hash)
NOT_IN_HASH = ("track",)


@dataclass
class TrainParams:
    epochs: int = bounded(10, ge=1, le=100_000)
    batch_size: int = bounded(1024, ge=2, le=_INT32)  # batch norm needs 2 rows
    eval_batch_size: int = bounded(8192, ge=1, le=_INT32)
    lr: float = bounded(1e-3, gt=0)
    optimizer: Literal["adam", "adamw"] = "adam"
    # L2 as FuxiCTR's embedding_regularizer / net_regularizer: a loss term reg/2 * ||w||^2 over the
    # whole table, applied as Adam's coupled weight decay (or AdamW's decoupled one)
    embedding_reg: float = bounded(0.0, ge=0)  # embedding tables
    net_reg: float = bounded(0.0, ge=0)  # every other weight matrix (biases and norm scales are never regularised)
    # which of the two the projection of a pretrained item vector gets: "net" (mmbench's first behaviour,
    # kept so committed rows reproduce) or "embedding", as FuxiCTR does (it keeps that projection in its
    # FeatureEmbeddingDict); the fidelity runs and qin's config.yaml set "embedding" (docs/models.md)
    projection_reg: Literal["net", "embedding"] = added_later("net")
    grad_clip: float = bounded(0.0, ge=0)  # max grad norm; 0 = off
    patience: int = bounded(2, ge=1, le=100_000)  # epochs without improvement of `monitor` before stopping
    # multiply lr by this after an epoch without improvement (FuxiCTR: 0.1)
    plateau_lr_factor: float = bounded(1.0, gt=0, le=1)
    # floor of the plateau reductions and the end of a cosine decay (FuxiCTR: 1e-6); at most lr
    min_lr: float = bounded(0.0, ge=0)
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: decay to min_lr over all epochs' steps
    warmup_steps: int = bounded(0, ge=0, le=_INT32)  # optimizer steps of linear warm-up from lr / warmup_steps to lr
    # batches whose gradients are summed (loss / k) before one optimizer step
    accumulation_steps: int = bounded(1, ge=1, le=100_000)
    monitor: Literal["auc", "logloss", "gauc"] = "auc"
    # "sigmoid": FuxiCTR's loss, binary cross-entropy of sigmoid(logit): in float32 a saturated wrong
    # prediction costs 100 (its log is clamped) and gives no gradient; "logits": BCE on the logits
    loss: Literal["logits", "sigmoid"] = added_later("logits")
    # where training's random draws (dropout masks, any other in-training sampling) start. "shared": from
    # the seed's state, the very stream the initial weights were drawn from (mmbench's first behaviour,
    # kept so committed rows reproduce); "split": from a stream derived from the seed apart from the
    # build's, as FuxiCTR (which trains on from wherever the build left the generator) and most
    # trainers do. Six seeds a side against the authors' DIN found no difference between the two (docs/models.md)
    rng: Literal["shared", "split"] = added_later("shared")
    seed: int = bounded(2024, ge=0, le=2**32 - 1)
    device: str = bounded("auto", pattern=DEVICE.pattern, hint=DEVICE.hint)  # cuda:N is checked when training starts
    amp: bool = False  # bf16 autocast on CUDA
    compile: bool = False  # torch.compile the model
    # 0 = all; else a fixed random subset (quick experiments); a batch needs 2 rows for batch norm
    max_train_rows: int = bounded(0, ge=2, also=(0,))
    threads: int = bounded(0, ge=1, le=4096, also=(0,))  # torch intra-op threads on CPU; 0 = torch's default
    cpu_malloc_tuning: bool = True  # keep freed CPU tensors in the heap instead of unmapping them
    # experiment trackers to log this run to, e.g. "mlflow" or [mlflow, wandb] (docs/tracking.md): the
    # names are checked against the installed trackers; not part of the run's identity (NOT_IN_HASH)
    track: str | list[str] = bounded("", pattern=r"[a-z][a-z0-9_]*", also=("",), hint="a tracker's name, e.g. mlflow")

    def __post_init__(self):
        check_bounds(self)
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr must be at most lr={self.lr}, got {self.min_lr}")


@dataclass
class TrainResult:
    valid: dict[str, float]  # metrics of the restored best epoch
    best_epoch: int
    epochs_run: int
    train_seconds: float
    samples_per_second: float
    n_params: int
    history: list[EpochLog] = field(default_factory=list)
    valid_probs: np.ndarray | None = None  # of the restored best epoch, in valid row order


def resolve_device(name: str, what: str = "train.device") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MMBenchError(f"{what}={name!r} but no CUDA device is available; use device: cpu or auto")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise MMBenchError(f"{what}={name!r} but this machine has {torch.cuda.device_count()} CUDA "
                           f"device(s) (cuda:0..cuda:{torch.cuda.device_count() - 1}); use one of those or auto")
    return device


def tune_cpu_allocator() -> None:
    """Stop glibc from returning large freed blocks to the OS.

    A training step allocates and frees tensors of hundreds of MB; by default each is mmap'ed and
    unmapped again, and the page faults of re-touching fresh pages cost more than the arithmetic
    (4x slower elementwise ops measured on a 2-core VM). With mmap off and no trimming, freed
    blocks are reused. Process-wide and harmless elsewhere; a no-op off glibc.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 2**31 - 1)
    except (OSError, AttributeError):
        pass


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def kept_rng():
    """Whatever runs inside draws from the random generators as they are and leaves them as they were:
    after one seed, each part built inside its own ``kept_rng`` starts from the seed's state, so it is a
    function of the seed alone, not of what was built before it."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def resident_tensors(split: Split, device: torch.device) -> dict[str, torch.Tensor]:
    """The split's columns as tensors on ``device``, shared with numpy on CPU (no copy)."""
    cols = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in split.columns().items()}
    cols = {k: (v.long() if v.dtype == torch.int8 else v) for k, v in cols.items()}
    return {k: v.to(device, non_blocking=True) for k, v in cols.items()}


def sigmoid_bce(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """FuxiCTR's binary_crossentropy on its sigmoid output (train.loss: sigmoid)."""
    return nn.functional.binary_cross_entropy(torch.sigmoid(logits), label)


def is_pretrained_projection(p: torch.Tensor) -> bool:
    """A weight matrix of a layer that projects a pretrained item vector (the one ``projection_reg`` places)."""
    return p.ndim > 1 and getattr(p, PRETRAINED_PROJECTION, False)


def split_param_groups(model: nn.Module, embedding_reg: float, net_reg: float,
                       projection_reg: str = "net") -> list[dict]:
    emb_ids = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    emb, net, no_decay = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if id(p) in emb_ids or (projection_reg == "embedding" and is_pretrained_projection(p)):
            emb.append(p)
        elif p.ndim <= 1:  # biases and norm scales are not regularised
            no_decay.append(p)
        else:
            net.append(p)
    # Adam's weight_decay adds wd * w to the gradient = the gradient of wd/2 * ||w||^2
    return [
        {"params": emb, "weight_decay": embedding_reg},
        {"params": net, "weight_decay": net_reg},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, params: TrainParams) -> torch.optim.Optimizer:
    groups = [g for g in split_param_groups(model, params.embedding_reg, params.net_reg, params.projection_reg)
              if g["params"]]
    # the fused kernel does a whole step in one pass over each tensor (CUDA and CPU): on CPU the
    # per-op implementation reads and writes the parameters and both moments several times per step
    # (0.5 s against 0.04 s per 82M parameters on a 2-core VM)
    devices = {p.device.type for g in groups for p in g["params"]}
    fused = {"fused": True} if devices <= {"cuda", "cpu"} else {}
    if params.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=params.lr, **fused)
    return torch.optim.Adam(groups, lr=params.lr, **fused)


@torch.inference_mode()
def predict(model: nn.Module, tensors: dict[str, torch.Tensor], batch_size: int, amp: bool = False) -> np.ndarray:
    """Click probabilities for every row, in row order."""
    model.eval()
    n = tensors["item_id"].shape[0]
    device = tensors["item_id"].device
    out = []
    for start in range(0, n, batch_size):
        batch = {k: tensors[k][start : start + batch_size] for k in BATCH_KEYS}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            logits = model(batch)
        out.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def evaluate_split(model, tensors, split: Split, params: TrainParams) -> tuple[dict[str, float], np.ndarray]:
    """(metrics, probabilities) of ``split``."""
    probs = predict(model, tensors, params.eval_batch_size, params.amp)
    return evaluate(split.label, probs, split.user_id), probs


def check_splits(train: Split, valid: Split) -> None:
    """What training needs whatever the dataset plugin: 2+ train rows, and both classes in valid (AUC)."""
    if len(train) < 2:
        raise MMBenchError(f"the train split has {len(train)} row(s); training needs at least 2")
    labels = valid.label if valid.label is not None else np.zeros(0)
    if len(labels) == 0 or labels.min() == labels.max():
        raise MMBenchError(f"the valid split has {len(labels)} row(s) with labels {sorted(set(labels.tolist()))[:2]}; "
                           "AUC needs at least one click and one non-click")


def n_batches(n: int, batch_size: int) -> int:
    """Training batches per epoch. A last batch of a single row (batch norm cannot train on one row)
    joins the batch before it, so no row count breaks a valid config."""
    steps = math.ceil(n / batch_size)
    return steps - 1 if steps > 1 and n - (steps - 1) * batch_size == 1 else steps


def _better(metric: str, new: float, best: float | None) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(new)
    return new < best if metric == "logloss" else new > best


class LrSchedule:
    """The learning rate of every optimizer step: linear warm-up, then constant or cosine decay to
    ``min_lr``; a plateau multiplies the peak by ``plateau_lr_factor`` (never below ``min_lr``)."""

    def __init__(self, params: TrainParams, total_steps: int):
        self.p, self.total = params, total_steps
        self.peak = params.lr

    def plateau(self) -> None:
        self.peak = max(self.peak * self.p.plateau_lr_factor, self.p.min_lr)

    def at(self, step: int) -> float:
        """lr of optimizer step ``step`` (0-based, counted over the whole run)."""
        p = self.p
        if step < p.warmup_steps:
            return self.peak * (step + 1) / p.warmup_steps
        if p.schedule == "cosine":
            progress = min(1.0, (step - p.warmup_steps) / max(1, self.total - p.warmup_steps))
            return p.min_lr + (self.peak - p.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.peak


def build_and_fit(
    build: Callable[[], nn.Module],
    train: Split,
    valid: Split,
    params: TrainParams,
    callbacks: Callbacks | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Seed, build the model, train it: the one place a run is seeded.

    The build (the initial weights) starts from the state of ``params.seed``; the training (dropout)
    starts from the same state (``train.rng: shared``) or from ``training_seed(seed)`` (``split``); the
    shuffle has its own generator seeded with ``params.seed``. Either way a run's numbers do not depend on
    what ran before it in the process, so a sweep's rows do not depend on their order or on the process
    (local or Ray worker) they ran in.
    """
    check_splits(train, valid)
    seed_everything(params.seed)
    with kept_rng():
        model = build()
    if params.rng == "split":
        seed_everything(training_seed(params.seed))
    return model, _train(model, train, valid, params, callbacks or Callbacks())


def training_seed(seed: int) -> int:
    """The seed of training's own random stream under ``train.rng: split``: a function of the run's seed
    alone, apart from the stream its initial weights come from."""
    return int(np.random.SeedSequence([seed, 0x7261696E]).generate_state(1)[0])


def fit(model: nn.Module, train: Split, valid: Split, params: TrainParams,
        callbacks: Callbacks | None = None) -> TrainResult:
    """Train a model built beforehand, seeded as ``build_and_fit`` seeds."""
    return build_and_fit(lambda: model, train, valid, params, callbacks)[1]


def _train(model: nn.Module, train: Split, valid: Split, params: TrainParams, callbacks: Callbacks) -> TrainResult:
    """Train with early stopping on ``params.monitor``; the best epoch's weights are restored and its
    valid probabilities returned (valid is predicted once per epoch, never again after training)."""
    if params.threads:
        torch.set_num_threads(params.threads)
    device = resolve_device(params.device)
    if device.type == "cpu" and params.cpu_malloc_tuning:
        tune_cpu_allocator()
    if params.max_train_rows and params.max_train_rows < len(train):
        rng = np.random.default_rng(params.seed)
        train = train.take(np.sort(rng.choice(len(train), params.max_train_rows, replace=False)))

    model.to(device)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    train_t = resident_tensors(train, device)
    valid_t = resident_tensors(valid, device)
    optimizer = make_optimizer(model, params)
    step_model = torch.compile(model) if params.compile else model
    loss_fn = nn.BCEWithLogitsLoss() if params.loss == "logits" else sigmoid_bce
    gen = torch.Generator(device="cpu").manual_seed(params.seed)
    n = len(train)
    n_steps = n_batches(n, params.batch_size)
    accumulate = params.accumulation_steps
    schedule = LrSchedule(params, params.epochs * math.ceil(n_steps / accumulate))
    updates = 0  # optimizer steps so far

    best_metric, best_state, best_epoch, bad_epochs, best_probs = None, None, 0, 0, None
    history: list[EpochLog] = []
    train_seconds, seen = 0.0, 0
    for epoch in range(1, params.epochs + 1):
        model.train()
        callbacks.on_epoch_start(epoch, n_steps)
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        for step in range(n_steps):
            end = n if step == n_steps - 1 else (step + 1) * params.batch_size
            idx = perm[step * params.batch_size : end]
            batch = {k: train_t[k][idx] for k in BATCH_KEYS}
            label = train_t["label"][idx]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=params.amp and device.type == "cuda"):
                logits = step_model(batch)
            loss = loss_fn(logits.float(), label)
            (loss / accumulate if accumulate > 1 else loss).backward()
            if (step + 1) % accumulate == 0 or step == n_steps - 1:  # an epoch's last batches step too
                if params.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), params.grad_clip)
                lr = schedule.at(updates)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                updates += 1
            callbacks.on_optimizer_step(epoch, step + 1)
            loss_sum += loss.detach()
            if step % 20 == 0 or step == n_steps - 1:
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise MMBenchError(
                        f"training diverged: loss is {value} at epoch {epoch}, step {step + 1}; "
                        f"lower train.lr or set train.grad_clip"
                    )
                callbacks.on_step(epoch, step + 1, value)
        epoch_train_seconds = time.perf_counter() - t0
        train_seconds += epoch_train_seconds
        seen += n
        valid_metrics, probs = evaluate_split(model, valid_t, valid, params)
        log = EpochLog(epoch, float(loss_sum) / n_steps, valid_metrics, time.perf_counter() - t0)
        history.append(log)
        callbacks.on_epoch_end(log)
        current = valid_metrics[params.monitor]
        if _better(params.monitor, current, best_metric):
            best_metric, best_epoch, bad_epochs, best_probs = current, epoch, 0, probs
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= params.patience:
                break
            schedule.plateau()

    if best_state is not None:
        model.load_state_dict(best_state)
    best = history[best_epoch - 1].valid if best_epoch else history[-1].valid
    return TrainResult(
        valid=best,
        best_epoch=best_epoch,
        epochs_run=len(history),
        train_seconds=train_seconds,
        samples_per_second=seen / train_seconds if train_seconds > 0 else float("nan"),
        n_params=n_params,
        history=history,
        valid_probs=best_probs if best_state is not None else probs,
    )
