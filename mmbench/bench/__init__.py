"""Throughput measurements (``mmbench bench ...``) and the tiny random models they and the tests use."""
