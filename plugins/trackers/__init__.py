"""Experiment trackers: plugins implementing the run hooks (see mmbench/contract/tracking.py)."""
