"""``mmbench data synth``: write the synthetic stand-in for MicroLens-1M in the challenge layout."""
from __future__ import annotations

from . import data_reports, seed_option


def cmd_synth(args) -> int:
    from .. import paths
    from ..data.synth_worlds import main_synth

    main_synth(paths.writable_dir(args.out, "--out"), args.scale, args.seed, world=args.world)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="dataset utilities")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("synth", help="generate a synthetic MicroLens-1M with a planted, known signal")
    s.add_argument("--out", required=True, help="output folder (the data root)")
    s.add_argument("--scale", choices=["tiny", "small", "full"], default="small")
    s.add_argument("--seed", **seed_option())
    s.add_argument("--world", type=int, choices=[1, 2], default=2,
                   help="2 (default): the challenge's row protocol over sequential behaviour; 1: the first stand-in")
    s.set_defaults(func=cmd_synth)
    data_reports.add_parsers(dsub)
