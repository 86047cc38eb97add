"""Throughput measurements (``mmbench bench ...``)."""
