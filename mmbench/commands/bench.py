"""``mmbench bench ACTION``: throughput measurements. Each action lives in its own module."""
from __future__ import annotations


def add_parser(sub) -> None:
    from ..bench.train import add_train_action

    p = sub.add_parser("bench", help="measure throughput (train: samples/s, memory and AUC of a CTR model)")
    bsub = p.add_subparsers(dest="bench_command", metavar="ACTION")
    bsub.required = True
    add_train_action(bsub)
