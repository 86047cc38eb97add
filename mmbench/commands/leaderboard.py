"""``mmbench leaderboard``: show recorded rows."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .. import leaderboard
from ..errors import MMBenchError


def cmd_leaderboard(args) -> int:
    directory = Path(args.leaderboard_dir)
    datasets = [args.dataset] if args.dataset else sorted(p.stem for p in directory.glob("*.csv"))
    if not datasets:
        raise MMBenchError(f"no leaderboard in {directory}; run `mmbench run CONFIG` first")
    for dataset in datasets:
        path = leaderboard.csv_path(directory, dataset)
        if not path.exists():
            raise MMBenchError(f"no leaderboard {path}; known: {', '.join(p.stem for p in directory.glob('*.csv'))}")
        rows = leaderboard.read_rows(path)
        if args.format == "csv":
            print(path.read_text(), end="")
        elif args.format == "json":
            print(json.dumps(rows, indent=2))
        elif args.format == "md":
            print(leaderboard.render_markdown(rows, dataset, directory), end="")
        else:
            table = Table(title=f"{dataset}")
            for col in ("encoder", "reducer", "model", "seed", "valid_auc", "valid_gauc", "epochs", "status"):
                table.add_column(col)
            for r in sorted(rows, key=lambda r: -float(r.get("valid_auc") or 0)):
                table.add_row(*(str(r.get(c, "")) for c in ("encoder", "reducer", "model", "seed", "valid_auc",
                                                              "valid_gauc", "epochs", "status")))
            Console(highlight=False).print(table)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="show the recorded runs")
    p.add_argument("--dataset", help="dataset id (default: every leaderboard in the folder)")
    p.add_argument("--format", choices=["table", "md", "csv", "json"], default="table")
    p.add_argument("--leaderboard-dir", default="leaderboards")
    p.set_defaults(func=cmd_leaderboard)
