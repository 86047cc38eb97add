"""``text`` encoder: a transformers text model, mean-pooled over the tokens of each item title."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import mmbench
from mmbench.contract.params import Bounds, declare_bounds

from .common import ContentParams, Towers, quiet_transformers
from .finetune import FinetuneParams
from .tower_encoder import TowerEncoder


@dataclass
class TextParams(ContentParams, FinetuneParams):
    model: str = "sentence-transformers/all-MiniLM-L6-v2"  # hub name or local folder
    modality: Literal["text"] = "text"  # titles only (kept for the shared machinery)
    max_length: int = 64
    normalize: bool = True  # L2-normalise each vector
    random_weights: bool = False  # architecture from the model's config, random init (benchmarks)
    finetune_pairs: Literal["coclick"] = "coclick"  # a text model has no cover tower to pair titles with
    finetune_towers: Literal["text"] = "text"

    def __post_init__(self):
        self.check_content()  # every range, declared once (below and on the shared params)
        if self.batch_size and not self.text_batch_size:  # titles are all this encoder batches
            self.text_batch_size = self.batch_size


declare_bounds(TextParams, max_length=Bounds(ge=1, le=2**16))


class TextTowers(Towers):
    image_transform = None

    def __init__(self, params: TextParams, device):
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from mmbench.contract.hf import apply_offline, load_failed, resolve_model_path

        quiet_transformers()
        apply_offline()
        path = resolve_model_path(params.model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = (AutoModel.from_config(AutoConfig.from_pretrained(path)) if params.random_weights
                     else AutoModel.from_pretrained(path))
        except (OSError, ValueError) as exc:
            raise load_failed(params.model, "encoder 'text'", exc) from None
        self.module = model.to(device).eval()
        self.text_dim = model.config.hidden_size
        self.max_length = params.max_length
        self._identity = {"backend": "transformers-text", "model": params.model, "random_weights": params.random_weights}

    def tokenize(self, texts):
        out = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": out["input_ids"], "attention_mask": out["attention_mask"]}

    def encode_text(self, tokens):
        hidden = self.module(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def tower_parameters(self, tower: str):
        return list(self.module.parameters()) if tower == "text" else []

    def identity(self) -> dict:
        return self._identity


class TextEncoder(TowerEncoder):
    Params = TextParams
    VERSION = 2

    @property
    def normalize(self) -> bool:
        return self.params.normalize

    def build_towers(self, ctx, device):
        return TextTowers(self.params, device)


@mmbench.hookimpl
def register_encoders(register):
    register("text", TextEncoder, description="transformers text model, mean pooling over item titles")
