"""The encoder plugin shape shared by ``text``, ``clip`` and ``openclip``: build towers, optionally
fine-tune them, encode every item. A subclass names its ``Params`` and builds its towers."""
from __future__ import annotations

import numpy as np

from mmbench.data.types import ItemTable

from .common import Timing, Towers, encode_with_towers, pick_device
from .finetune import cache_inputs_for, maybe_finetune


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
