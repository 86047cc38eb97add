"""Runs the authors' ``run_expid.py`` in the authors' own Python environment, by path:

    AUTHORS_PYTHON authors_runner.py REPO_COPY CONFIG_DIR EXPID THREADS

Standalone on purpose (that environment has FuxiCTR, not mmbench): the standard library, plus torch
and FuxiCTR when they import. Before handing over it applies, in this process only, the two
compatibility shims FuxiCTR 2.3.7 needs on today's libraries (``np.Inf``, removed in NumPy 2;
``log_loss(eps=...)``, removed in scikit-learn 1.5: clip to [eps, 1 - eps], then log_loss), sets the
torch thread count, and times each epoch's training (FuxiCTR's ``train_epoch`` minus the evaluation
inside it). The authors' files are not touched. Its last stdout line is
``MMBENCH_RUNNER {json}`` with those times and the peak RSS; everything else is the run's own output.
"""
import json
import os
import resource
import runpy
import sys
import time


def apply_shims():
    import numpy as np

    if not hasattr(np, "Inf"):
        np.Inf = np.inf
    import fuxictr.metrics
    from sklearn.metrics import log_loss

    def log_loss_with_eps(y_true, y_pred, eps=1e-7, **kwargs):
        return log_loss(y_true, np.clip(y_pred, eps, 1 - eps), **kwargs)

    fuxictr.metrics.log_loss = log_loss_with_eps


def clock_epochs(record):
    """Wrap BaseModel.train_epoch / evaluate: each epoch's seconds without its evaluation."""
    from fuxictr.pytorch.models import BaseModel

    train_epoch, evaluate = BaseModel.train_epoch, BaseModel.evaluate
    state = {"eval": 0.0, "in_epoch": False}

    def timed_evaluate(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return evaluate(self, *args, **kwargs)
        finally:
            if state["in_epoch"]:
                state["eval"] += time.perf_counter() - t0

    def timed_train_epoch(self, data_generator, *args, **kwargs):
        state.update(eval=0.0, in_epoch=True)
        t0 = time.perf_counter()
        try:
            return train_epoch(self, data_generator, *args, **kwargs)
        finally:
            state["in_epoch"] = False
            record["train_seconds"].append(time.perf_counter() - t0 - state["eval"])
            record["steps"].append(getattr(self, "_batch_index", -1) + 1)

    BaseModel.train_epoch, BaseModel.evaluate = timed_train_epoch, timed_evaluate


def main():
    repo, config, expid, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    record = {"train_seconds": [], "steps": [], "fuxictr": None, "threads": threads}
    try:
        import fuxictr
    except ImportError:
        fuxictr = None
    if fuxictr is not None:
        record["fuxictr"] = getattr(fuxictr, "__version__", None)
        apply_shims()
        clock_epochs(record)
        import torch

        torch.set_num_threads(threads)
    sys.path.insert(0, repo)
    sys.argv = [os.path.join(repo, "run_expid.py"), "--config", config, "--expid", expid, "--gpu", "-1"]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        record["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sys.stdout.flush()
        sys.stderr.flush()
        print("MMBENCH_RUNNER " + json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
