"""The MicroLens-1M datasets: the real download, and a synthetic copy generated on first use."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mmbench
from mmbench.contract.components import Dataset
from mmbench.data import MMCTRData
from mmbench.errors import DataError
from mmbench.contract.params import bounded
from mmbench.files.userpaths import expand

MMBENCH_API_VERSION = 2


class MicroLens1M(Dataset):
    """The real MicroLens-1M (MMCTR layout), read from ``data_root``."""

    @dataclass
    class Params:
        data_root: str = ""

    def load(self, ctx) -> MMCTRData:
        from mmbench.data.reader import load_mmctr  # pyarrow: imported to load, not to register
        from mmbench.data.schema import DOWNLOAD_PAGE

        params = self.params
        if not params.data_root:
            raise DataError(
                "dataset microlens_1m needs its folder: set dataset.data_root in the config or pass "
                f"--set dataset.data_root=/path (download it from {DOWNLOAD_PAGE})"
            )
        return load_mmctr(Path(params.data_root), "microlens_1m")


class MicroLens1MSynth(Dataset):
    """Synthetic MicroLens-1M with a known ground truth; generated once into ``$MMBENCH_HOME/data``.
    World 2 (default) follows the challenge's row protocol; world 1 is the first stand-in."""

    @dataclass
    class Params:
        scale: Literal["tiny", "small", "medium", "full"] = "small"  # medium: worlds 2 and 3
        seed: int = bounded(0, ge=0, le=2**32 - 1)  # numpy's seed range
        world: Literal[1, 2, 3] = 2
        data_root: str = ""  # explicit folder; default $MMBENCH_HOME/data/<dataset id>

    generates = True

    def generate(self, out: Path) -> dict:
        from .synth.worlds import main_synth

        return main_synth(out, self.params.scale, self.params.seed, world=self.params.world)

    def load(self, ctx) -> MMCTRData:
        from mmbench.data.reader import load_mmctr
        from .synth.worlds import dataset_id as synth_dataset_id, ensure_generated

        params = self.params
        dataset_id = synth_dataset_id(params.world, params.scale, params.seed)
        root = expand(params.data_root, "dataset.data_root") if params.data_root else Path(ctx.home) / "data" / dataset_id
        # a stage line only when there is something to generate (an existing root is only checked)
        stage = contextlib.nullcontext() if root.exists() else ctx.events.stage(
            "generate data", scale=params.scale, into=root)
        with stage:
            ensure_generated(root, params.world, params.scale, params.seed)
        return load_mmctr(root, dataset_id)


@mmbench.hookimpl
def register_datasets(register):
    register("microlens_1m", MicroLens1M)
    register("microlens_1m_synth", MicroLens1MSynth)
