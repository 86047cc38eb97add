"""One module per ``mmbench`` subcommand, each with ``add_parser(subparsers)``; shared arguments here."""


def add_leaderboard_dir(parser, what: str = "where the CSV/markdown/chart go") -> None:
    """``--leaderboard-dir``: default ``$MMBENCH_HOME/leaderboards`` (``store.leaderboard_dir``), so that a
    user's rows never land in the repository's committed ``leaderboards/`` unless they name it."""
    parser.add_argument("--leaderboard-dir", default=None, metavar="DIR",
                        help=f"{what} (default $MMBENCH_HOME/leaderboards; the repository's committed "
                             f"boards: --leaderboard-dir leaderboards)")
