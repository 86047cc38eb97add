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
from .content import one_hot
from .world2 import SCALES, ItemLatents, Variant

WORLD = 3


@dataclass(frozen=True)
class Visibility:
    """How strongly the shipped vectors show an item's latent groups (world 2: 0 and 0), in units of
    the topic's own strength (a one-hot of norm 1 before the random projection)."""

    niche: float = 0.35  # the item's interest: a niche of its topic
    community: float = 0.35  # the item's hidden co-click community


def dataset_id(scale: str, seed: int) -> str:
    return f"microlens_1m_synth-w{WORLD}-{scale}-s{seed}"


def embeddings_for(vis: Visibility):
    """World 2's vectors, each also projecting the niche and the community at their strengths."""

    def make(it: ItemLatents, world: ItemWorld, rng: np.random.Generator) -> dict[str, np.ndarray]:
        shown = (vis.niche * one_hot(world.interest, world.n_interests),
                 vis.community * one_hot(world.community, world.n_communities))
        return world2.shipped_embeddings(it, world, rng, shown)

    return make


def generate(out_dir: Path, scale: str = "tiny", seed: int = 0, overwrite: bool = False,
             strengths: Strengths | None = None, visibility: Visibility | None = None) -> dict:
    """Write a complete world-3 data root at ``out_dir`` (atomically) and return ``oracle.json``'s facts."""
    vis = visibility or Visibility()
    variant = Variant(world=WORLD, embeddings=embeddings_for(vis), facts={"visibility": asdict(vis)})
    return world2.generate(out_dir, scale, seed, overwrite=overwrite, strengths=strengths, variant=variant)


__all__ = ["SCALES", "Visibility", "dataset_id", "generate"]
