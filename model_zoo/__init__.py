"""mmbench's CTR model zoo (installed as ``mmbench_zoo``): one folder per model, each with the model
and its default config (``config.yaml``: model ``params`` and ``train`` defaults)."""
