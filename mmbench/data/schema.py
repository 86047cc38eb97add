"""The MMCTR challenge layout of MicroLens-1M, as data: file -> columns -> arrow type.

The reader validates against it and the synthetic generator writes exactly it, so the two cannot
drift apart. Paths are relative to the data root.
"""
from __future__ import annotations

from dataclasses import dataclass

import hashlib

import numpy as np
import pyarrow as pa

from .types import N_TAG_SLOTS, SEQ_LEN

DOWNLOAD_PAGE = "https://recsys.westlake.edu.cn/MicroLens_1M_MMCTR/"
SPLIT_DIR = "MicroLens_1M_x1"
IMAGE_DIR = "item_images"
ORACLE_FILE = "oracle.json"  # synthetic data only
#: the key of oracle.json that ties it to the data it describes: :func:`labels_fingerprint` of valid's labels
ORACLE_BINDING = "valid_labels_blake2b"


def labels_fingerprint(labels) -> str:
    """A short hash of a split's labels in row order: an oracle.json of another seed, scale or world (or of
    data changed since) does not carry the fingerprint of the labels beside it."""
    return hashlib.blake2b(np.asarray(labels).astype(np.int8).tobytes(), digest_size=8).hexdigest()

INT = pa.int64()
TXT_DIM = 768
IMG_DIM = 1024
EMB_DIM = 128


def fixed(value_type: pa.DataType, size: int) -> pa.DataType:
    return pa.list_(value_type, size)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the data root
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type) for c in self.columns])


_ROW_COLUMNS = (
    Column("user_id", INT),
    Column("item_seq", fixed(INT, SEQ_LEN)),  # history before the target, left-padded with 0
    Column("item_id", INT),
    Column("likes_level", INT),
    Column("views_level", INT),
)

TRAIN = FileSpec(f"{SPLIT_DIR}/train.parquet", _ROW_COLUMNS + (Column("label", INT),))
VALID = FileSpec(f"{SPLIT_DIR}/valid.parquet", _ROW_COLUMNS + (Column("label", INT),))
TEST = FileSpec(f"{SPLIT_DIR}/test.parquet", (Column("ID", INT),) + _ROW_COLUMNS)
ITEM_INFO = FileSpec(
    f"{SPLIT_DIR}/item_info.parquet",
    (
        Column("item_id", INT),  # 0..N, row 0 is padding
        Column("item_tags", fixed(INT, N_TAG_SLOTS)),  # left-padded with 0
        Column("item_emb_d128", fixed(pa.float64(), EMB_DIM)),  # row 0 all zeros
    ),
)
ITEM_FEATURE = FileSpec(
    "item_feature.parquet",
    (
        Column("item_id", INT),  # 1..N, no padding row
        Column("item_title", pa.string()),
        Column("item_tags", pa.list_(INT)),
        Column("likes_level", INT),
        Column("views_level", INT),
        Column("txt_emb_BERT", fixed(pa.float32(), TXT_DIM)),
        Column("img_emb_CLIPRN50", fixed(pa.float32(), IMG_DIM)),
    ),
)
ITEM_EMB = FileSpec(
    "item_emb.parquet",
    (Column("item_id", INT),)
    + tuple(Column(f"item_emb_d128_{v}", fixed(pa.float32(), EMB_DIM)) for v in ("v1", "v2", "v3", "e4")),
)
ITEM_SEQ = FileSpec("item_seq.parquet", (Column("user_id", INT), Column("item_seq", pa.list_(INT))))

SPLITS = {"train": TRAIN, "valid": VALID, "test": TEST}
ALL_FILES = (TRAIN, VALID, TEST, ITEM_INFO, ITEM_FEATURE, ITEM_EMB, ITEM_SEQ)
BY_NAME = {spec.path.rsplit("/", 1)[-1]: spec for spec in ALL_FILES}

#: Every embedding that ships with the data: (file name, column) -> dimension.
SHIPPED_EMBEDDINGS = {
    ("item_info.parquet", "item_emb_d128"): EMB_DIM,
    ("item_feature.parquet", "txt_emb_BERT"): TXT_DIM,
    ("item_feature.parquet", "img_emb_CLIPRN50"): IMG_DIM,
    **{("item_emb.parquet", f"item_emb_d128_{v}"): EMB_DIM for v in ("v1", "v2", "v3", "e4")},
}

EXPECTED_TREE = (
    f"<root>/{SPLIT_DIR}/{{train,valid,test,item_info}}.parquet, <root>/item_feature.parquet, "
    f"<root>/item_emb.parquet, <root>/item_seq.parquet, <root>/{IMAGE_DIR}/<item_id>.jpg"
)


def spec_for(file: str) -> FileSpec:
    """Look a file up by bare name ("item_info.parquet") or by its path relative to the root."""
    name = file.rsplit("/", 1)[-1]
    if name not in BY_NAME:
        raise KeyError(file)
    return BY_NAME[name]
