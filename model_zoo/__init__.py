"""mmbench's CTR model zoo (installed as ``mmbench_zoo``): one folder per model, each with the model,
its ``Params`` dataclass (the parameter defaults and bounds) and ``config.yaml`` (its ``train:`` defaults
only)."""
