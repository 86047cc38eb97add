"""``mmbench data marginals DIR``, ``mmbench data coldwarm --dataset ID`` and ``mmbench data mechanisms
--dataset ID``: reports on a data root and on the saved predictions of the runs on it."""
from __future__ import annotations

import json
from pathlib import Path

from . import number, seed_option


def cmd_marginals(args) -> int:
    from ..data.marginals import compute, format_report

    result = compute(Path(args.root), seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def data_root(args) -> Path:
    """--data-root, or where the synthetic dataset ``--dataset`` was written on first use."""
    from ..data import mmbench_home

    return Path(args.data_root) if args.data_root else mmbench_home() / "data" / args.dataset


def cmd_coldwarm(args) -> int:
    from ..report.coldwarm import format_report, score

    result = score(Path(args.leaderboard_dir), args.dataset, data_root(args), args.reference, args.max_train_rows,
                   args.split)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def cmd_mechanisms(args) -> int:
    from ..report.mechanisms import format_report, score

    result = score(Path(args.leaderboard_dir), args.dataset, data_root(args), args.reference, args.split)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def add_split_argument(parser) -> None:
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="valid",
                        help="the rows scored: valid (default), test or both pooled; test needs a data root that "
                             "holds the test labels (a synthetic world) and runs that saved test predictions")


#: mmbench.report.coldwarm.SPLIT_CHOICES (not imported: building the parser stays light)
SPLIT_CHOICES = ("valid", "test", "valid+test")


def add_parsers(dsub) -> None:
    m = dsub.add_parser("marginals", help="rows and users per split, positives, shared histories, disjoint users, "
                                          "items ever a target in an 80 %% train sample, history lengths")
    m.add_argument("root", help="a data root in the MMCTR layout (real or synthetic)")
    m.add_argument("--seed", **seed_option(), help="seed of the 80 %% train row sample")
    m.add_argument("--json", action="store_true", help="print the numbers as JSON")
    m.set_defaults(func=cmd_marginals)

    c = dsub.add_parser("coldwarm", help="a leaderboard's saved valid predictions scored on cold vs warm candidate "
                                         "rows (paired DeLong against a reference)")
    add_board_arguments(c, "the data root the runs used", "; default: the one with the `random` encoder")
    c.add_argument("--max-train-rows", type=number(int, 0), default=0,
                   help="a candidate is cold when at most this many train rows have it (default 0: never in train)")
    add_split_argument(c)
    c.set_defaults(func=cmd_coldwarm)

    k = dsub.add_parser("mechanisms", help="a leaderboard's saved valid predictions scored by how each user's next "
                                           "click links to its history (series, co-click, niche; synthetic world 2)")
    add_board_arguments(k, "the world-2 data root the runs used")
    add_split_argument(k)
    k.set_defaults(func=cmd_mechanisms)


def add_board_arguments(parser, root_help: str, reference_default: str = "") -> None:
    """What a report on a leaderboard's saved predictions reads: the board, the data root, a reference."""
    parser.add_argument("--dataset", required=True, help="leaderboard dataset id, e.g. microlens_1m_synth-w2-small-s0")
    parser.add_argument("--leaderboard-dir", default="leaderboards")
    parser.add_argument("--data-root", default="", help=f"{root_help} (default $MMBENCH_HOME/data/<dataset>)")
    parser.add_argument("--reference", default=None, help="combination to compare against (config hash, key or "
                                                          f"encoder/reducer/model){reference_default}")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
