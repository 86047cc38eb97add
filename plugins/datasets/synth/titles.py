"""English titles for synthetic items: a few words from the item's topic inside a generic template.

A title names its topic through distinctive words ("sourdough", "ollie", "dribble"), so a text encoder
can recover the topic. World 1 keeps an item's hidden appeal out of its title; world 2 passes a
textual appeal, which shows as a catchy hook ("you need to see this") on appealing titles.
"""
from __future__ import annotations

import numpy as np

from mmbench.data.title_words import FILLERS, HOOKS, TEMPLATES, TOPICS


def _places(raw: str) -> list[str]:
    """Places may have two words ("ski resort"); they are listed in pairs where needed."""
    words = raw.split()
    out, i = [], 0
    while i < len(words):
        # join known two-word places
        if i + 1 < len(words) and f"{words[i]} {words[i + 1]}" in _TWO_WORD_PLACES:
            out.append(f"{words[i]} {words[i + 1]}")
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


_TWO_WORD_PLACES = {
    "food market", "home gym", "dance studio", "comedy club", "film set", "art studio", "ski resort",
    "national park", "living room", "trading floor", "home office", "pit lane", "launch pad",
}

VOCAB = [
    {"N": t[0].split(), "A": t[1].split(), "V": t[2].split(), "P": _places(t[3])} for t in TOPICS
]
N_TOPICS = len(VOCAB)


def make_titles(topics: np.ndarray, rng: np.random.Generator, noise_word_rate: float = 0.1,
                appeal: np.ndarray | None = None) -> list[str]:
    """One title per item. ``topics[i]`` is item i's topic; a small share of titles borrow a noun
    from another topic, so titles are informative but not a perfect topic label. With ``appeal``
    (standardised), item i gets a hook with probability ``sigmoid(2 * appeal[i])``; the draws made
    without it are unchanged."""
    n = len(topics)
    template_idx = rng.integers(0, len(TEMPLATES), n)
    picks = rng.random((n, 6))
    borrow = rng.random(n) < noise_word_rate
    other_topic = rng.integers(0, N_TOPICS, n)
    titles = []
    for i in range(n):
        vocab = VOCAB[topics[i]]
        p = picks[i]
        nouns = vocab["N"]
        n1 = nouns[int(p[0] * len(nouns))]
        n2 = nouns[int(p[1] * len(nouns))]
        if n2 == n1:
            n2 = nouns[(int(p[1] * len(nouns)) + 1) % len(nouns)]
        if borrow[i]:
            other = VOCAB[other_topic[i]]["N"]
            n2 = other[int(p[1] * len(other))]
        title = TEMPLATES[template_idx[i]].format(
            N=n1,
            N2=n2,
            A=vocab["A"][int(p[2] * len(vocab["A"]))],
            V=vocab["V"][int(p[3] * len(vocab["V"]))],
            P=vocab["P"][int(p[4] * len(vocab["P"]))],
            F=FILLERS[int(p[5] * len(FILLERS))],
        )
        titles.append(title[0].upper() + title[1:])
    if appeal is not None:
        hooked = rng.random(n) < 1.0 / (1.0 + np.exp(-2.0 * appeal))
        hook = rng.integers(0, len(HOOKS), n)
        titles = [f"{t} {HOOKS[h]}" if k else t for t, h, k in zip(titles, hook.tolist(), hooked.tolist())]
    return titles
