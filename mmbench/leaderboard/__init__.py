"""The leaderboard: ``<dir>/<dataset>.csv`` is the source of truth, the rest is derived from it.

    store     the CSV and the runs' valid predictions: reads, and the only writes (under a file lock)
    summary   one entry per combination over its seeds: mean ± std, DeLong CI, paired test
    render    ``<dataset>.md`` and ``<dataset>.png`` from a summary, once per command
    chart     the chart itself (matplotlib)

Rows are only ever measured runs. Published numbers ship with the package (``published.yaml`` here; a
leaderboard folder's own ``published.yaml`` adds to it) and are rendered in a section of their own,
labelled as published. A user's boards live in ``$MMBENCH_HOME/leaderboards`` unless a folder is named.
"""
