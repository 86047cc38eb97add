"""``openclip`` encoder: an open_clip model (e.g. ViT-B-32 / laion2b_s34b_b79k) on titles and covers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mmbench
from mmbench.errors import ConfigError, one_line, short
from mmbench.files.userpaths import expand

from .common import ContentParams, Towers
from .finetune import FinetuneParams
from .tower_encoder import TowerEncoder


@dataclass
class OpenClipParams(ContentParams, FinetuneParams):
    model: str = "ViT-B-32"  # open_clip name, 'hf-hub:org/repo', or a local folder with open_clip_config.json
    pretrained: str = "laion2b_s34b_b79k"  # tag, or a local checkpoint file; ignored for folders and hf-hub
    random_weights: bool = False  # architecture only, random init (benchmarks)

    def __post_init__(self):
        self.check_content()  # every range, declared once (below and on the shared params)




def _model_spec(params: OpenClipParams) -> tuple[str, str | None]:
    """(open_clip model name, pretrained) with a local folder turned into open_clip's 'local-dir:' form."""
    path = expand(params.model, "encoder.model")
    if path.is_dir():
        return f"local-dir:{path}", None
    return params.model, (params.pretrained or None)


#: how a checkpoint file is told from an open_clip pretrained tag (laion2b_s34b_b79k, openai, ...)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def local_weights(pretrained: str | None) -> Path | None:
    """``encoder.pretrained`` as a local checkpoint file, checked (exists, is a file, can be read); None
    for a pretrained tag. A wrong file is said as such, never as an unreachable hub."""
    if not pretrained or not (pretrained.startswith((".", "/", "~")) or "/" in pretrained
                              or pretrained.endswith(WEIGHT_SUFFIXES)):
        return None
    path = expand(pretrained, "encoder.pretrained")
    what = f"encoder.pretrained {short(str(path), 200)}"
    if not path.exists():
        raise ConfigError(f"{what}: no such file; give the path of an open_clip checkpoint "
                          f"({', '.join(WEIGHT_SUFFIXES)}) or a pretrained tag (open_clip.list_pretrained())")
    if path.is_dir():
        raise ConfigError(f"{what} is a folder; give the checkpoint file in it, or a folder with "
                          "open_clip_config.json as encoder.model")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise ConfigError(f"{what}: cannot be read ({exc.strerror or type(exc).__name__}); fix its permissions") from None
    return path


class OpenClipTowers(Towers):
    def __init__(self, params: OpenClipParams, device):
        import open_clip
        import torch

        from mmbench.contract.hf import apply_offline, load_failed

        name, pretrained = _model_spec(params)
        weights = None if params.random_weights or name.startswith("local-dir:") else local_weights(pretrained)
        apply_offline()
        if params.model.startswith((".", "/", "~")) and not name.startswith("local-dir:"):
            raise load_failed(params.model, "encoder 'openclip'", FileNotFoundError(params.model))
        try:
            torch.manual_seed(0)
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=None if params.random_weights else pretrained,
                load_weights=not params.random_weights)
            self.tokenizer = open_clip.get_tokenizer(name)
        except Exception as exc:  # open_clip raises RuntimeError/ValueError/OSError/HF errors alike
            if weights is not None and "not found in built-ins" not in str(exc):
                raise ConfigError(f"encoder.pretrained {short(str(weights), 200)}: not a valid open_clip checkpoint "
                                  f"for '{params.model}' ({short(one_line(exc), 200)}); give a checkpoint saved for "
                                  "this model, or --set encoder.random_weights=true to run without weights") from None
            hint = (f"Get the weights on a machine with internet (open_clip.create_model('{params.model}', "
                    f"pretrained='{params.pretrained}') caches them under ~/.cache/huggingface), copy the checkpoint "
                    f"file here and point at it: --set encoder.pretrained=/path/open_clip_model.safetensors, or save "
                    f"a folder with open_clip_config.json + weights and use --set encoder.model=DIR")
            if "not found in built-ins" in str(exc):
                hint = f"'{params.model}' is no open_clip model name; see open_clip.list_models()"
            raise load_failed(params.model, "encoder 'openclip'", exc, local_hint=hint) from None
        self.module = model.to(device).eval()
        self.image_transform = preprocess
        size = getattr(model.visual, "image_size", 224)
        self.draft_size = max(size) if isinstance(size, (tuple, list)) else int(size)
        width = getattr(model, "text_projection", None)
        self.text_dim = self.image_dim = int(model.visual.output_dim if hasattr(model.visual, "output_dim")
                                             else width.shape[1])
        self._identity = {"backend": "open_clip", "model": params.model, "pretrained": params.pretrained,
                          "random_weights": params.random_weights}

    def tokenize(self, texts):
        return {"text": self.tokenizer(texts)}

    def encode_text(self, tokens):
        return self.module.encode_text(tokens["text"])

    def encode_image(self, pixels):
        return self.module.encode_image(pixels)

    def tower_parameters(self, tower: str):
        visual = {id(p) for p in self.module.visual.parameters()}
        if tower == "image":
            return list(self.module.visual.parameters())
        return [p for n, p in self.module.named_parameters() if id(p) not in visual and n != "logit_scale"
                and not n.startswith("logit_bias")]

    def logit_scale(self):
        return self.module.logit_scale

    def identity(self) -> dict:
        return self._identity


class OpenClipEncoder(TowerEncoder):
    Params = OpenClipParams
    VERSION = 1

    def build_towers(self, ctx, device):
        return OpenClipTowers(self.params, device)


@mmbench.hookimpl
def register_encoders(register):
    register("openclip", OpenClipEncoder, description="open_clip model on titles and covers (text, image or fused)")
