"""The synthetic worlds by number: their dataset ids, their generators, and which one a folder holds.

World 1 (``world1.py``) is the first stand-in, kept byte-for-byte so its committed rows rerun; world 2
(``world2.py``) follows the challenge's row protocol and is the default. Their rows never share
a leaderboard file: the dataset ids differ.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from mmbench.errors import DataError
from mmbench.files.locks import file_lock
from mmbench.data import schema
from . import world1, world2, world3

DEFAULT_WORLD = 2
GENERATORS = {1: world1.generate, 2: world2.generate, 3: world3.generate}
DATASET_IDS = {2: world2.dataset_id, 3: world3.dataset_id}


def dataset_id(world: int, scale: str, seed: int) -> str:
    return f"microlens_1m_synth-{scale}-s{seed}" if world == 1 else DATASET_IDS[world](scale, seed)


def identity_of(root: Path) -> dict | None:
    """What a generated folder holds: ``{"world", "scale", "seed"}`` from its ``oracle.json`` (world 1 wrote
    no world number), None without one. Keys the file lacks are left out."""
    path = Path(root) / schema.ORACLE_FILE
    if not path.is_file():
        return None
    try:
        facts = json.loads(path.read_text())
        out = {"world": int(facts.get("world", 1))}
        if "scale" in facts:
            out["scale"] = str(facts["scale"])
        if "seed" in facts:
            out["seed"] = int(facts["seed"])
        return out
    except (ValueError, TypeError, AttributeError, OSError) as exc:
        raise DataError(f"{path}: cannot tell which synthetic data it holds ({exc}); delete the folder "
                        "and let mmbench generate it again") from None


def generate(world: int, out_dir: Path, scale: str, seed: int, overwrite: bool = False) -> dict:
    if world not in GENERATORS:
        raise DataError(f"unknown synthetic world {world}; choose one of {', '.join(map(str, GENERATORS))}")
    return GENERATORS[world](Path(out_dir), scale, seed, overwrite=overwrite)


def ensure_generated(root: Path, world: int, scale: str, seed: int) -> None:
    """Generate ``root`` unless it exists (one process at a time); refuse a folder of another world."""
    root = Path(root)
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        # generate() renames a finished folder into place; the lock keeps a second process from
        # generating the same data at the same time
        with file_lock(root.parent / f".{root.name}.lock", "one generation of this dataset at a time",
                       timeout=math.inf):
            if not root.exists():
                generate(world, root, scale, seed)
    found = identity_of(root)
    if found is None:
        return
    if found["world"] != world:
        raise DataError(f"{root} holds synthetic world {found['world']}, not world {world}: set "
                        f"dataset.world={found['world']} or point dataset.data_root at another folder")
    # the row is labelled with the configured scale and seed: they must be the data's
    for key, wanted in (("scale", scale), ("seed", seed)):
        if key in found and found[key] != wanted:
            raise DataError(f"{root} holds synthetic {key} {found[key]!r}, not {wanted!r}: set "
                            f"dataset.{key}={found[key]} or point dataset.data_root at another folder")


def main_synth(out: Path | str, scale: str = "small", seed: int = 0, world: int = DEFAULT_WORLD,
               overwrite: bool = False) -> dict:
    """``mmbench data synth``: generate and print a short summary."""
    from mmbench.output.console import make_console, styled

    start = time.perf_counter()
    facts = generate(world, Path(out), scale, seed, overwrite=overwrite)
    seconds = time.perf_counter() - start
    rows = facts["rows"]
    lines = [
        styled(f"synthetic MicroLens-1M, world {world}", "bold") + f" ({scale}, seed {seed}) -> {Path(out)}",
        f"  rows: train {rows['train']:,}  valid {rows['valid']:,}  test {rows['test']:,}   "
        f"items {facts['n_items']:,}  users {facts['n_users']:,}",
        f"  positives {facts['positive_rate']['train']:.1%}   oracle valid AUC {facts['valid_auc']:.4f}   {seconds:.1f} s",
    ]
    if "references" in facts:
        lines.append("  single signals (valid AUC): " + "  ".join(f"{k} {v:.4f}" for k, v in facts["references"].items()))
    make_console().print(styled("\n").join(styled(line) if isinstance(line, str) else line for line in lines))
    return facts
