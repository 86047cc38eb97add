"""The encoder plugin shape shared by ``text``, ``clip`` and ``openclip``: build towers, optionally
fine-tune them, encode every item. A subclass names its ``Params`` and builds its towers."""
from __future__ import annotations

import numpy as np

from mmbench.data.types import ItemTable
from mmbench.params import DEVICE, Bounds

from .common import Timing, Towers, encode_with_towers, pick_device
from .finetune import cache_inputs_for, maybe_finetune


#: bounds of the fields every content encoder shares (ContentParams + FinetuneParams); each encoder
#: module declares them on its Params with ``declare_bounds(XParams, **TOWER_BOUNDS, ...)``
TOWER_BOUNDS = {
    "device": DEVICE,
    "batch_size": Bounds(ge=0, le=2**20),
    "text_batch_size": Bounds(ge=0, le=2**20),
    "num_workers": Bounds(ge=-1, le=256),
    "finetune_steps": Bounds(ge=0),
    "finetune_lr": Bounds(gt=0),
    "finetune_batch_size": Bounds(ge=2, le=2**20),
    "finetune_temperature": Bounds(ge=0),
    "finetune_seed": Bounds(ge=0, le=2**32 - 1),
}


class TowerEncoder:
    Params = None
    VERSION = 1
    normalize = True  # L2-normalise each output vector

    def __init__(self, params):
        self.params = params

    @staticmethod
    def cache_inputs(params, data) -> dict:
        return cache_inputs_for(params, data)

    def build_towers(self, ctx, device) -> Towers:
        raise NotImplementedError

    def towers(self, ctx, device=None) -> Towers:
        return self.build_towers(ctx, device or pick_device(self.params.device))

    def encode(self, items: ItemTable, ctx, timing: Timing | None = None) -> np.ndarray:
        device = pick_device(self.params.device)
        towers = self.towers(ctx, device)
        maybe_finetune(towers, items, self.params, device, ctx)
        return encode_with_towers(towers, items, self.params, device, ctx, normalize=self.normalize, timing=timing)
