"""``mmbench data synth``: write the synthetic stand-in for MicroLens-1M in the challenge layout."""
from __future__ import annotations

from . import data_reports, seed_option


def cmd_synth(args) -> int:
    from ..files import paths
    from ..contract.registry import default_registry

    registry = default_registry()
    name = registry.generating_dataset(args.dataset)
    out = paths.writable_dir(args.out, "--out")
    dataset = registry.create("dataset", name, {"scale": args.scale, "seed": args.seed, "world": args.world},
                              where="mmbench data synth")
    registry.get("dataset", name).call("to generate", dataset.generate, out)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="dataset utilities")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("synth", help="generate a synthetic MicroLens-1M with a planted, known signal")
    s.add_argument("--out", required=True, help="output folder (the data root)")
    s.add_argument("--scale", choices=["tiny", "small", "medium", "full"], default="small",
                   help="tiny, small (default), medium (worlds 2 and 3: a quarter of full) or full")
    s.add_argument("--seed", **seed_option())
    s.add_argument("--world", type=int, choices=[1, 2, 3], default=2,
                   help="2 (default): the challenge's row protocol over sequential behaviour; 3: world 2 with "
                        "shipped vectors that show niches and co-click communities; 1: the first stand-in")
    s.add_argument("--dataset", default=None, metavar="NAME",
                   help="the registered dataset that writes it (default: the one that generates data, "
                        "the built-in synthetic MicroLens-1M)")
    s.set_defaults(func=cmd_synth)
    data_reports.add_parsers(dsub)
