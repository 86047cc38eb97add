"""``text`` encoder: a transformers text model, mean-pooled over the tokens of each item title."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import mmbench
from mmbench.data.types import ItemTable


@dataclass
class TextParams:
    model: str = "sentence-transformers/all-MiniLM-L6-v2"  # hub name or local folder
    batch_size: int = 256
    max_length: int = 64
    normalize: bool = True  # L2-normalise each vector
    device: str = "auto"

    def __post_init__(self):
        if self.batch_size < 1 or self.max_length < 1:
            raise ValueError("batch_size and max_length must be >= 1")


class TextEncoder:
    Params = TextParams
    VERSION = 1

    def __init__(self, params: TextParams):
        self.params = params

    def encode(self, items: ItemTable, ctx) -> np.ndarray:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from mmbench.hf import load_failed, resolve_model_path

        p = self.params
        path = resolve_model_path(p.model)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise load_failed(p.model, "encoder 'text'", exc) from None
        device = torch.device("cuda" if p.device == "auto" and torch.cuda.is_available() else
                              ("cpu" if p.device == "auto" else p.device))
        model.to(device).eval()

        titles = items.titles[1:]
        ctx.stats["missing_titles"] = sum(1 for t in titles if not t.strip())
        # length-bucketed batches: similar lengths together means little padding per batch
        order = np.argsort([len(t) for t in titles], kind="stable")
        out = np.zeros((items.n_items, model.config.hidden_size), dtype=np.float32)
        task = ctx.progress.add_task("encode titles", total=len(titles), loss="") if ctx.progress else None
        with torch.inference_mode():
            for start in range(0, len(order), p.batch_size):
                rows = order[start : start + p.batch_size]
                batch = tokenizer([titles[i] for i in rows], padding=True, truncation=True,
                                  max_length=p.max_length, return_tensors="pt").to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vecs = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                if p.normalize:
                    vecs = torch.nn.functional.normalize(vecs.float(), dim=-1)
                out[rows + 1] = vecs.float().cpu().numpy()
                if task is not None:
                    ctx.progress.update(task, advance=len(rows))
        if task is not None:
            ctx.progress.remove_task(task)
        return out


@mmbench.hookimpl
def register_encoders(register):
    register("text", TextEncoder, description="transformers text model, mean pooling over item titles")
