"""One run, stage by stage: the config, the lifecycle (resolve, load, encode, reduce, finish: train,
row, predictions), the trainer and its listeners, checkpoints, metrics and what a run cost."""
