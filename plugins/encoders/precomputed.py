"""``precomputed`` encoder: the item embeddings that ship with MicroLens-1M, one column or several
concatenated.

``item_emb_d128`` (item_info.parquet) is what the official baseline fed its DIN: BERT title vectors and
CLIP-RN50 cover vectors reduced by PCA to 128 dims. With it the published setting runs in minutes, on
a CPU, with no model weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import mmbench
from mmbench.contract.components import Encoder
from mmbench.data.types import ItemTable
from mmbench.errors import DataError
from mmbench.contract.params import did_you_mean

from .fusion import l2_normalize

#: column → the file of the MicroLens-1M download that holds it
SHIPPED_COLUMNS = {
    "item_emb_d128": "item_info.parquet",
    "txt_emb_BERT": "item_feature.parquet",
    "img_emb_CLIPRN50": "item_feature.parquet",
    "item_emb_d128_v1": "item_emb.parquet",
    "item_emb_d128_v2": "item_emb.parquet",
    "item_emb_d128_v3": "item_emb.parquet",
    "item_emb_d128_e4": "item_emb.parquet",
}


@dataclass
class PrecomputedParams:
    columns: list[str] = field(default_factory=lambda: ["item_emb_d128"])  # concatenated in this order
    normalize: bool = False  # L2-normalise each column's vectors before concatenating

    def __post_init__(self):
        if not self.columns:
            raise ValueError(f"columns must name at least one of {', '.join(SHIPPED_COLUMNS)}")
        for col in self.columns:
            if col not in SHIPPED_COLUMNS:
                raise ValueError(f"unknown column '{col}'{did_you_mean(col, SHIPPED_COLUMNS)}; "
                                 f"shipped columns: {', '.join(SHIPPED_COLUMNS)}")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"columns lists a column twice: {self.columns}")


class PrecomputedEncoder(Encoder):
    Params = PrecomputedParams
    VERSION = 1

    def encode(self, items: ItemTable, ctx) -> np.ndarray:
        if items.load_shipped is None:
            raise DataError("encoder 'precomputed': this dataset ships no precomputed embeddings; "
                            "use a content encoder (clip, openclip, text)")
        blocks = []
        for col in self.params.columns:
            vecs = np.asarray(items.load_shipped(SHIPPED_COLUMNS[col], col), dtype=np.float32)
            if vecs.ndim != 2 or vecs.shape[0] != items.n_items:
                raise DataError(f"encoder 'precomputed': {SHIPPED_COLUMNS[col]}:{col} gave shape {vecs.shape}; "
                                f"expected ({items.n_items}, d)")
            blocks.append(l2_normalize(vecs) if self.params.normalize else vecs)
        out = np.concatenate(blocks, axis=1).astype(np.float32)
        out[0] = 0.0
        return out


@mmbench.hookimpl
def register_encoders(register):
    register("precomputed", PrecomputedEncoder,
             description="embeddings shipped with MicroLens-1M (item_emb_d128, txt_emb_BERT, img_emb_CLIPRN50, ...)")
