"""Experiment trackers: plugins implementing the run hooks (see mmbench/tracking.py)."""
