"""One module per ``mmbench`` subcommand, each with ``add_parser(subparsers)``; shared arguments here."""


def add_leaderboard_dir(parser, what: str = "where the CSV/markdown/chart go") -> None:
    """``--leaderboard-dir``: default ``$MMBENCH_HOME/leaderboards`` (``store.leaderboard_dir``), so that a
    user's rows never land in the repository's committed ``leaderboards/`` unless they name it."""
    parser.add_argument("--leaderboard-dir", default=None, metavar="DIR",
                        help=f"{what} (default $MMBENCH_HOME/leaderboards; the repository's committed "
                             f"boards: --leaderboard-dir leaderboards)")


def add_set(parser, help: str = "override a config value, e.g. --set train.seed=3 (repeatable)") -> None:
    """``--set KEY=VALUE`` (repeatable): config overrides, parsed by ``config.load``."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_rerun(parser) -> None:
    """``--rerun``: run a config whose hash already has an ok row (by default it is skipped, one line)."""
    parser.add_argument("--rerun", action="store_true",
                        help="run even if this exact config (same hash, same data) already has a row; adds a second row")
