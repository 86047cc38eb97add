"""``mmbench show COMPONENT``: one component's parameters (type, default, allowed values), its kind,
distribution and version, and a model's train defaults; ``mmbench show train`` lists the train keys.
COMPONENT is a name, or ``kind/name`` where several kinds register the name (mmbench/report/component_info.py)."""
from __future__ import annotations


def cmd_show(args) -> int:
    from ..report.component_info import TRAIN, find, render, render_train
    from ..output.console import make_console
    from ..contract.registry import default_registry
    from .plugins import warn_failures

    if args.component == TRAIN:
        lines = render_train()
    else:
        registry = default_registry()
        warn_failures(registry, make_console(stderr=True))
        lines = render(find(registry, args.component))
    print("\n".join(lines))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("show", help="a component's parameters with types, defaults and allowed values "
                                    "(and a model's train defaults)")
    p.add_argument("component", help="a component name (din, pca, text, ...), kind/name (reducer/pca) where a name "
                                     "is registered by several kinds, or 'train' for the train section")
    p.set_defaults(func=cmd_show)
