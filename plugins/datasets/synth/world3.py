"""World 3 of the synthetic MicroLens-1M: world 2's protocol and behaviour, with shipped embeddings
that show what a real video's multimodal vector shows.

World 2's vectors know only an item's topic (24 of them) and its appeal, so the fine structure behind
most next clicks — the user's niche inside a topic, the co-click community of a recent click — is
learnt only through item ids, one id at a time; one pass over 3.6M rows learns little of it (world-2
full: QIN 0.67 and DIN 0.73 after one epoch, against the real QIN's 0.88-0.90). A real video's BERT
title vector and CLIP cover vector do show finer things than a topic: its creator, its series, the
trend it belongs to. World 3 lets every shipped vector carry the item's niche and co-click community as
two more latent directions, each with one strength (``Visibility``). A model then learns the
similarity between a candidate and the history once, in shared weights, rather than per id.

Nothing else changes: items, users, clicks, rows, negatives and the exact oracle are world 2's (with
world 3's own draws), so every protocol check of world 2 holds. The rendered titles and covers stay
world 2's (topic and appeal): the shipped vectors stand for the real ones, which read more of a
video than mmbench's cartoon covers and template titles carry. Why each strength has its value:
docs/synthetic.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import world2
from .behaviour import ItemWorld, Strengths
from .content import column, project, topic_blocks
from .world2 import SCALES, ItemLatents, Variant
from mmbench.data import schema

WORLD = 3


@dataclass(frozen=True)
class Visibility:
    """How strongly the shipped vectors show an item's latent groups (world 2: 0 and 0), in units of
    the topic's own strength (a one-hot of norm 1 before the random projection)."""

    niche: float = 0.35  # the item's interest: a niche of its topic
    community: float = 0.35  # the item's hidden co-click community


def dataset_id(scale: str, seed: int) -> str:
    return f"microlens_1m_synth-w{WORLD}-{scale}-s{seed}"


def _one_hot(group: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(group), n), np.float32)
    out[np.arange(len(group)), group] = 1.0
    return out


def embeddings_for(vis: Visibility):
    """World 2's recipes with the niche and the community added to every shipped vector."""

    def make(it: ItemLatents, world: ItemWorld, rng: np.random.Generator) -> dict[str, np.ndarray]:
        onehot, group = topic_blocks(it.topic)
        detail = [vis.niche * _one_hot(world.interest, world.n_interests),
                  vis.community * _one_hot(world.community, world.n_communities)]
        a_v, a_t = column(it.appeal_visual), column(it.appeal_text)
        quality, exposure = column(it.quality), column(it.exposure)
        recipes = {
            "txt_emb_BERT": ([onehot, 0.5 * group, 0.7 * a_t, *detail], schema.TXT_DIM, 1.0),
            "img_emb_CLIPRN50": ([onehot, 0.5 * group, a_v, *detail], schema.IMG_DIM, 1.0),
            "item_emb_d128": ([onehot, 0.5 * group, 0.7 * a_v, 0.7 * a_t, *detail], schema.EMB_DIM, 0.8),
            "item_emb_d128_v1": ([onehot, *detail], schema.EMB_DIM, 1.0),
            "item_emb_d128_v2": ([onehot, 0.7 * a_v, *detail], schema.EMB_DIM, 0.8),
            "item_emb_d128_v3": ([onehot, 0.7 * a_v, 0.7 * a_t, 0.5 * quality, 0.5 * exposure, *detail],
                                 schema.EMB_DIM, 0.6),
            "item_emb_d128_e4": ([onehot, 0.5 * group, *detail], schema.EMB_DIM, 1.5),
        }
        return {name: project(parts, dim, noise, rng) for name, (parts, dim, noise) in recipes.items()}

    return make


def generate(out_dir: Path, scale: str = "tiny", seed: int = 0, overwrite: bool = False,
             strengths: Strengths | None = None, visibility: Visibility | None = None) -> dict:
    """Write a complete world-3 data root at ``out_dir`` (atomically) and return ``oracle.json``'s facts."""
    vis = visibility or Visibility()
    variant = Variant(world=WORLD, embeddings=embeddings_for(vis), facts={"visibility": asdict(vis)})
    return world2.generate(out_dir, scale, seed, overwrite=overwrite, strengths=strengths, variant=variant)


__all__ = ["SCALES", "Visibility", "dataset_id", "generate"]
