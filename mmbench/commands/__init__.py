"""One module per ``mmbench`` subcommand, each with ``add_parser(subparsers)``; shared arguments here."""
from __future__ import annotations

import argparse
import math

#: the largest seed numpy and torch take
MAX_SEED = 2**32 - 1


def number(kind: type = int, low: float | None = None, high: float | None = None, above: bool = False):
    """An argparse ``type`` for a numeric option with its range: ``low`` (exclusive when ``above``) and
    ``high``. A value outside is refused by the parser as one line naming the option and the range
    (every numeric option of every command has one; tests/test_cli.py checks)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if low is not None and (value < low or (above and value == low)):
            raise argparse.ArgumentTypeError(f"must be {'>' if above else '>='} {low}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {text}")
        return value
    parse.kind, parse.low, parse.high, parse.above = kind, low, high, above
    parse.__name__ = kind.__name__
    return parse


def seed_option() -> dict:
    return {"type": number(int, 0, MAX_SEED), "default": 0}


def add_leaderboard_dir(parser, what: str = "where the CSV/markdown/chart go") -> None:
    """``--leaderboard-dir``: default ``$MMBENCH_HOME/leaderboards`` (``store.leaderboard_dir``), so that a
    user's rows never land in the repository's committed ``leaderboards/`` unless they name it."""
    parser.add_argument("--leaderboard-dir", default=None, metavar="DIR",
                        help=f"{what} (default $MMBENCH_HOME/leaderboards; the repository's committed "
                             f"boards: --leaderboard-dir leaderboards)")


def add_set(parser, help: str = "override a config value, e.g. --set train.seed=3 (repeatable)") -> None:
    """``--set KEY=VALUE`` (repeatable): config overrides, parsed by ``config.load``."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


def events_of(args):
    """The command's event stream (mmbench/output/events.py): the CLI's, or a silent one when called directly."""
    from ..output.events import Events

    return getattr(args, "events", None) or Events()


def add_rerun(parser) -> None:
    """``--rerun``: run a config whose hash already has an ok row (by default it is skipped, one line)."""
    parser.add_argument("--rerun", action="store_true",
                        help="run even if this exact config (same hash, same data) already has a row; adds a second row")
