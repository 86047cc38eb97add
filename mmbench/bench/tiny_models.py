"""Small random CLIP / OpenCLIP models saved to disk, loaded through the encoders' ordinary code.

Weights cannot be downloaded here, so tests and benchmarks build architectures from configs. The
tokenizer is CLIP's real BPE (rebuilt offline from the vocabulary file open_clip ships), so token
counts are those of the real models.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..contract.hf import clip_tokenizer_dir

#: a tiny open_clip architecture (same vocabulary as ViT-B-32, so open_clip's own tokenizer fits it)
TINY_OPENCLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def save_clip(out: str | Path, home: str | Path, tiny: bool = True, seed: int = 0) -> Path:
    """A random transformers CLIP (tiny, or ViT-B/32 defaults) with tokenizer and image processor."""
    import torch
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel

    out = Path(out)
    if tiny:
        config = CLIPConfig(
            text_config={"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                         "num_attention_heads": 2, "max_position_embeddings": 77},
            vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                           "num_attention_heads": 2, "image_size": 32, "patch_size": 16},
            projection_dim=16)
    else:
        config = CLIPConfig()
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(clip_tokenizer_dir(home)).save_pretrained(out)
    size = config.vision_config.image_size
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(out)
    return out


def save_openclip(out: str | Path, seed: int = 0) -> Path:
    """A random tiny open_clip model as a folder (open_clip_config.json + weights): use it as encoder.model."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": TINY_OPENCLIP_CFG,
           "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}}
    (out / "open_clip_config.json").write_text(json.dumps(cfg, indent=1))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{out}", load_weights=False)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "open_clip_model.safetensors"))
    return out
