"""A probe, not part of mmbench: with ``PROJ_WD=<float>`` in the environment, the zoo side puts the
pretrained-vector projection in an Adam group of its own with that weight decay (the L2 that
``train.projection_reg: embedding`` gives it at ``train.embedding_reg``), so its dose can be varied
alone. Use with ``--zoo-set train.projection_reg=net`` (din's ``net_reg`` is 0), e.g.:

    PYTHONPATH=benchmarks/fidelity/projection_wd:$PYTHONPATH PROJ_WD=1e-8 mmbench bench fidelity --pair din \
        ... --zoo-set train.projection_reg=net --authors-from din_w3np0_20k.json --out dose_1e-8.json

``PROJ_WD=0`` reproduces ``net`` and ``PROJ_WD=1e-6`` (din's ``embedding_reg``) ``embedding``, digit for
digit (docs/models.md). Python imports this module at start-up when its folder is on PYTHONPATH; it
reaches the zoo side's worker process through the environment.
"""
import os
import sys

if os.environ.get("PROJ_WD") is not None:
    import mmbench.run.trainer as trainer

    _split = trainer.split_param_groups

    def split_with_projection_group(model, embedding_reg, net_reg, projection_reg="net"):
        groups = _split(model, embedding_reg, net_reg, projection_reg)
        projection = [p for p in model.parameters() if trainer.is_pretrained_projection(p)]
        ids = {id(p) for p in projection}
        for group in groups:
            group["params"] = [p for p in group["params"] if id(p) not in ids]
        decay = float(os.environ["PROJ_WD"])
        print(f"PROJ_WD: {sum(p.numel() for p in projection)} projection weights at weight decay {decay:g}",
              file=sys.stderr, flush=True)
        return groups + [{"params": projection, "weight_decay": decay}]

    trainer.split_param_groups = split_with_projection_group
