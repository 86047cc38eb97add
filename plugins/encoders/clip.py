"""``clip`` encoder: a transformers CLIP model on item titles and covers (text, image or fused)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mmbench
from mmbench.contract.params import Bounds, declare_bounds

from .common import ContentParams, Towers, quiet_transformers
from .finetune import FinetuneParams
from .tower_encoder import TowerEncoder


@dataclass
class ClipParams(ContentParams, FinetuneParams):
    model: str = "openai/clip-vit-base-patch32"  # hub name or local folder (save_pretrained layout)
    tokenizer: str = ""  # hub name or folder; "" = the model's own
    max_length: int = 77
    random_weights: bool = False  # architecture from the model's config (or ViT-B/32 defaults), random init

    def __post_init__(self):
        self.check_content()  # every range, declared once (below and on the shared params)


declare_bounds(ClipParams, max_length=Bounds(ge=2, le=2**16))


def clip_image_transform(model_dir: str | None):
    """torchvision transform equal to the model's CLIPImageProcessor (resize, centre crop, normalise).

    Built from preprocessor_config.json so it runs in DataLoader workers without transformers' per-call
    overhead. Without a config: the OpenAI CLIP defaults (224, bicubic).
    """
    from torchvision import transforms as T

    cfg = {}
    if model_dir and (Path(model_dir) / "preprocessor_config.json").exists():
        cfg = json.loads((Path(model_dir) / "preprocessor_config.json").read_text())
    size = cfg.get("size", {"shortest_edge": 224})
    size = size.get("shortest_edge") or size.get("height") if isinstance(size, dict) else size
    crop = cfg.get("crop_size", {"height": size, "width": size})
    crop = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
    mean = cfg.get("image_mean", [0.48145466, 0.4578275, 0.40821073])
    std = cfg.get("image_std", [0.26862954, 0.26130258, 0.27577711])
    return T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(crop),
                      T.ToTensor(), T.Normalize(mean, std)]), max(crop)


class HFClipTowers(Towers):
    def __init__(self, params: ClipParams, device, ctx):
        import torch
        from transformers import AutoTokenizer, CLIPConfig, CLIPModel

        from mmbench.contract.hf import apply_offline, clip_tokenizer_dir, load_failed, resolve_model_path

        self.params, self.device = params, device
        quiet_transformers()
        apply_offline()
        path = resolve_model_path(params.model)
        local = Path(path).is_dir()
        try:
            if params.random_weights:
                config = CLIPConfig.from_pretrained(path) if local else CLIPConfig()
                torch.manual_seed(0)
                model = CLIPModel(config)
            else:
                model = CLIPModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise load_failed(params.model, "encoder 'clip'", exc) from None
        tok_source = params.tokenizer or path
        if params.random_weights and not params.tokenizer and not (local and _has_tokenizer(path)):
            tok_source = str(clip_tokenizer_dir(ctx.home))  # CLIP's BPE, rebuilt offline from open_clip's vocab
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(tok_source))
        except (OSError, ValueError) as exc:
            raise load_failed(tok_source, "encoder 'clip' (tokenizer)", exc) from None
        self.module = model.to(device).eval()
        self.text_dim = self.image_dim = model.config.projection_dim
        self.max_length = min(params.max_length, model.config.text_config.max_position_embeddings)
        self.image_transform, self.image_size = clip_image_transform(path if local else None)
        self.draft_size = self.image_size  # JPEG draft decodes at >= this size, never below the crop
        self._identity = {"backend": "transformers", "model": params.model, "random_weights": params.random_weights}

    def tokenize(self, texts):
        out = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": out["input_ids"], "attention_mask": out["attention_mask"]}

    def encode_text(self, tokens):
        m = self.module
        return m.text_projection(m.text_model(**tokens).pooler_output)

    def encode_image(self, pixels):
        m = self.module
        return m.visual_projection(m.vision_model(pixel_values=pixels).pooler_output)

    def tower_parameters(self, tower: str):
        m = self.module
        if tower == "text":
            return list(m.text_model.parameters()) + list(m.text_projection.parameters())
        return list(m.vision_model.parameters()) + list(m.visual_projection.parameters())

    def logit_scale(self):
        return self.module.logit_scale

    def identity(self) -> dict:
        return self._identity


def _has_tokenizer(path: str) -> bool:
    return any((Path(path) / f).exists() for f in ("tokenizer.json", "vocab.json", "vocab.txt", "tokenizer_config.json"))


class ClipEncoder(TowerEncoder):
    Params = ClipParams
    VERSION = 1

    def build_towers(self, ctx, device):
        return HFClipTowers(self.params, device, ctx)


@mmbench.hookimpl
def register_encoders(register):
    register("clip", ClipEncoder, description="transformers CLIP on titles and covers (text, image or fused)")
