"""``executor: ray``: each combination is a Ray task with its own resources; the driver alone writes.

The driver loads the data and prepares each (encoder, reducer) stage (cached as in a local sweep),
puts the data once and each stage's table once into the object store, and submits one task per
combination with ``num_cpus`` / ``num_gpus``. Rows (and valid predictions) stream back as tasks finish;
only the driver records them, so the leaderboard has a single writer. Ray is imported here only.
"""
from __future__ import annotations

from .errors import MMBenchError
from .sweep import Prepared, failed_row, first_line, run_combination


def _train_task(resolved, data, reduction, encode_seconds, stats):
    """Runs on a Ray worker; Ray resolves the object refs (data, reduction) before the call."""
    return run_combination(resolved, data, Prepared(reduction, encode_seconds, stats))


def run_on_ray(stages, data, options, address, record) -> None:
    try:
        import ray
    except ImportError:
        raise MMBenchError("executor ray needs Ray: pip install 'mmbench[ray]' (or use executor: local)") from None
    if not ray.is_initialized():
        ray.init(address=address or options.address, runtime_env=options.runtime_env, log_to_driver=False)
    task = ray.remote(_train_task).options(num_cpus=options.num_cpus, num_gpus=options.num_gpus, max_retries=0)
    data_ref = ray.put(data)
    pending = {}

    def collect(refs) -> None:
        for ref in refs:
            combo = pending.pop(ref)
            try:
                row, probs = ray.get(ref)
            except Exception as exc:  # the worker died (OOM, node lost): the combination failed
                row, probs = failed_row(combo.resolved, data.dataset_id, f"ray: {first_line(exc)}"), None
            record(combo, row, probs)

    for group, prep in stages:
        if prep.error:
            for combo in group:
                record(combo, failed_row(combo.resolved, data.dataset_id, prep.error), None)
            continue
        reduction_ref = ray.put(prep.reduction)
        for combo in group:
            ref = task.remote(combo.resolved, data_ref, reduction_ref, prep.encode_seconds, prep.stats)
            pending[ref] = combo
        done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
        collect(done)  # stream what already finished while the next stage is prepared
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        collect(done)
