"""``mmbench bench ACTION``: throughput measurements. Each action lives in its own module."""
from __future__ import annotations


def add_parser(sub) -> None:
    from ..bench.encode import add_encode_action
    from ..bench.fidelity import add_fidelity_action
    from ..bench.train import add_train_action

    p = sub.add_parser("bench", help="measure throughput: train (samples/s, memory, AUC of a CTR model), "
                                     "encode (items/s of an encoder), fidelity (a zoo model beside its authors' code)")
    bsub = p.add_subparsers(dest="bench_command", metavar="ACTION")
    bsub.required = True
    add_train_action(bsub)
    add_encode_action(bsub)
    add_fidelity_action(bsub)
