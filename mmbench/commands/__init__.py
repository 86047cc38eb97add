"""One module per ``mmbench`` subcommand; each defines ``add_parser(subparsers)``."""
