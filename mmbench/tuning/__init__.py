"""``mmbench tune``: hyper-parameter search on Optuna (imported only by this command).

``spec`` reads the search file, ``study`` opens the Optuna study and keeps its trial budget and
resumption honest, ``objective`` turns one trial into one measured run (a leaderboard row), and
``ray_executor`` runs trials as Ray tasks.
"""
