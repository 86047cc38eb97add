"""World 2's next-click model: a mixture of named mechanisms, sampled and evaluated exactly.

A user's next click is drawn from one of four mechanisms, each with its own strength (mixture weight):

* **series** — creators publish series whose items are watched in order: the next item of the
  series the last click belongs to (``successor``). Its order is visible through ids and sequences
  only; the items of a series share a topic, so content tells "same topic", never "next one".
* **co-click** — a hidden item-to-item graph: items fall into ``coclick_communities`` communities
  drawn regardless of content, and the next click is an item (by attractiveness) of the community of
  one of the last ``RECENCY_WINDOW`` clicks, the r-th last chosen with weight
  ``recency_decay ** (r - 1)`` (**recency**). Only ids and sequences reveal who is co-clicked with whom.
* **taste** — long-term taste: one of the user's 1-3 interests (by its weight), then an item of that
  interest by attractiveness. An interest is a niche of a topic (``niches_per_topic`` per topic):
  content names the topic, only ids and sequences tell the niche. The interests **drift**: before
  each click, with probability ``drift``, one of them is replaced by a new interest.
* **popular** — any item by attractiveness.

Attractiveness ``g = exp(pop_spread * z + quality_weight * quality + appeal_visual * a_v +
appeal_text * a_t)`` holds **popularity** (latent exposure ``z``), **quality** (behind likes) and the
**appeal** that only the cover (``a_v``) and the title (``a_t``) show. A mechanism that cannot act
(no last click, no successor) hands its weight to taste. A draw that is already in the user's
history, or an item not yet released for the user (**fresh** items, see ``world2``), is
rejected and the whole draw repeated — so the next-click probability of an allowed item is
``P_mix(item) / (1 - P_mix(forbidden))``, which :func:`NextClick.prob` evaluates exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mmbench.data.truth import RECENCY_WINDOW

from .content import TopicSampler

N_SLOTS = 3  # taste interests per user (1-3 used)
PAIR_CHUNK = 65_536  # (user, item) pairs evaluated at once: bounds the (pairs, W, K) comparison


@dataclass(frozen=True)
class Strengths:
    """Every mechanism's strength; see docs/synthetic.md for why each value was chosen."""

    series: float = 0.20  # mixture weight: next item of the last click's series
    coclick: float = 0.40  # mixture weight: an item co-clicked with a recent click
    taste: float = 0.37  # mixture weight: an item of one of the user's current interests
    popular: float = 0.03  # mixture weight: any item by attractiveness (history cannot explain it)
    recency_decay: float = 0.5  # weight ratio of the r-th to the (r-1)-th last click as co-click source
    drift: float = 0.05  # per click: probability that one taste interest is replaced
    niches_per_topic: int = 8  # interests per topic: how much finer taste is than what content names
    pop_spread: float = 1.7  # sd of latent log exposure: the item long tail (calibrated, docs/synthetic.md)
    quality_weight: float = 0.5  # log-attractiveness per sd of quality (quality also drives likes)
    appeal_visual: float = 0.35  # log-attractiveness per sd of cover appeal
    appeal_text: float = 0.35  # log-attractiveness per sd of title appeal
    fresh_share: float = 0.05  # items released after the train users' period (cold in train)
    series_share: float = 0.5  # share of items that belong to a series
    series_length: float = 5.0  # mean items per series
    coclick_communities: int = 256  # co-click communities (independent of topic)
    negative_power: float = 1.0  # negatives ~ (clicks + 1) ** power: plain popularity sampling

    def mixture(self) -> np.ndarray:
        return np.array([self.series, self.coclick, self.taste, self.popular])


def with_strengths(**changes) -> Strengths:
    """The default strengths with some changed (experiments and tests)."""
    return replace(Strengths(), **changes)


class Grouping:
    """Items split into ``n`` groups (interests, co-click communities): the group of an item id, an
    item's share of its group's attractiveness, and a sampler of a group's items by attractiveness."""

    def __init__(self, group: np.ndarray, n: int, weight: np.ndarray):
        self.group, self.n = group, n
        self.sampler = TopicSampler(group, weight, n)
        self.mass = np.bincount(group, weights=weight, minlength=n)
        self.id = np.concatenate([[-1], group])  # id-aligned; padding in no group
        self.share_id = np.concatenate([[0.0], weight / self.mass[group]])  # g_j / G_group(j), id-aligned

    def mass_of(self, items: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Per group: the share of its attractiveness held by ``items`` (0-based indices)."""
        return np.bincount(self.group[items], weights=weight[items], minlength=self.n) / self.mass


@dataclass
class ItemWorld:
    """The latent item side. Arrays marked id-aligned have a padding row 0; the others hold item 1
    at index 0."""

    topic: np.ndarray  # (N,) what content shows
    interest: np.ndarray  # (N,) topic * niches_per_topic + niche: what taste acts on
    n_interests: int
    community: np.ndarray  # (N,) co-click community
    n_communities: int
    weight: np.ndarray  # (N,) attractiveness g
    successor: np.ndarray  # (N + 1,) id-aligned; 0 = no next item in a series
    fresh: np.ndarray  # (N + 1,) id-aligned bool; padding False

    def __post_init__(self):
        self.interests = Grouping(self.interest, self.n_interests, self.weight)
        self.communities = Grouping(self.community, self.n_communities, self.weight)
        self.total = float(self.weight.sum())
        self.weight_id = np.concatenate([[0.0], self.weight])

    @property
    def sampler(self) -> TopicSampler:  # any item by attractiveness: TopicSampler.popular
        return self.interests.sampler

    @property
    def n_items(self) -> int:
        return len(self.topic)


def make_series(interest: np.ndarray, share: float, mean_length: float, rng: np.random.Generator) -> np.ndarray:
    """(N + 1,) id-aligned successor: items of a series share an interest (so a topic) and follow in
    a random order."""
    n = len(interest)
    members = np.flatnonzero(rng.random(n) < share)
    members = members[np.lexsort((rng.random(len(members)), interest[members]))]
    starts = rng.random(len(members)) < 1.0 / mean_length  # geometric series lengths
    starts[1:] |= interest[members[1:]] != interest[members[:-1]]
    successor = np.zeros(n + 1, np.int32)
    follows = np.flatnonzero(~starts[1:]) + 1  # members[i] follows members[i - 1]
    successor[members[follows - 1] + 1] = members[follows] + 1
    return successor


@dataclass
class UserState:
    """What the next click depends on, for a batch of users."""

    recent: np.ndarray  # (n, W) item ids of the last W clicks, most recent first, 0-padded
    n_hist: np.ndarray  # (n,) clicks so far
    slots: np.ndarray  # (n, 3) taste interests
    slot_weight: np.ndarray  # (n, 3) their weights (0 = unused), rows sum to 1
    early: np.ndarray  # (n,) bool: fresh items are not yet released for this user

    def take(self, rows: np.ndarray) -> "UserState":
        return UserState(self.recent[rows], self.n_hist[rows], self.slots[rows], self.slot_weight[rows], self.early[rows])


def recency_weights(n_hist: np.ndarray, decay: float) -> np.ndarray:
    """(n, W) weight of the r-th last click as co-click source, over the clicks that exist."""
    w = decay ** np.arange(RECENCY_WINDOW, dtype=np.float64)
    w = np.where(np.arange(RECENCY_WINDOW)[None, :] < n_hist[:, None], w[None, :], 0.0)
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


class NextClick:
    """Sampling and exact probabilities of the next click under :class:`Strengths`."""

    def __init__(self, world: ItemWorld, strengths: Strengths):
        self.world, self.s = world, strengths

    def component_weights(self, state: UserState) -> np.ndarray:
        """(n, 4) weights of series, co-click, taste, popular for each user (unavailable -> taste)."""
        pi = np.broadcast_to(self.s.mixture(), (len(state.n_hist), 4)).copy()
        has_last = state.n_hist > 0
        has_succ = self.world.successor[state.recent[:, 0]] > 0
        pi[~has_succ, 2] += pi[~has_succ, 0]
        pi[~has_succ, 0] = 0.0
        pi[~has_last, 2] += pi[~has_last, 1]
        pi[~has_last, 1] = 0.0
        return pi

    # -------------------------------------------------------------------- sampling

    def draw(self, state: UserState, rng: np.random.Generator) -> np.ndarray:
        """One unrestricted mixture draw per user (item ids); the caller rejects forbidden ones."""
        n = len(state.n_hist)
        pi = self.component_weights(state)
        comp = (rng.random(n)[:, None] > np.cumsum(pi, axis=1)[:, :3]).sum(axis=1)
        u_source, u_slot = rng.random(n), rng.random(n)
        out = np.empty(n, np.int64)

        sel = comp == 0
        out[sel] = self.world.successor[state.recent[sel, 0]]

        sel = np.flatnonzero(comp == 1)
        cum = np.cumsum(recency_weights(state.n_hist[sel], self.s.recency_decay), axis=1)
        source = np.minimum((u_source[sel, None] > cum).sum(axis=1), RECENCY_WINDOW - 1)
        communities = self.world.communities
        out[sel] = communities.sampler.by_topic(communities.id[state.recent[sel, source]], rng)

        sel = np.flatnonzero(comp == 2)
        cum = np.cumsum(state.slot_weight[sel], axis=1)
        slot = np.minimum((u_slot[sel, None] > cum[:, :-1]).sum(axis=1), N_SLOTS - 1)
        out[sel] = self.world.interests.sampler.by_topic(state.slots[sel, slot], rng)

        sel = comp == 3
        out[sel] = self.world.sampler.popular(int(sel.sum()), rng)
        return out

    # -------------------------------------------------------------------- probabilities

    def mix_prob(self, state: UserState, items: np.ndarray, users: np.ndarray | None = None) -> np.ndarray:
        """``P_mix(items[i])`` for user ``users[i]`` of ``state`` (default: user i), before rejection."""
        users = np.arange(len(items)) if users is None else users
        out = np.empty(len(items))
        for start in range(0, len(items), PAIR_CHUNK):
            sl = slice(start, start + PAIR_CHUNK)
            out[sl] = self._mix_prob(state.take(users[sl]), items[sl])
        return out

    def _mix_prob(self, st: UserState, c: np.ndarray) -> np.ndarray:
        w = self.world
        pi = self.component_weights(st)
        series = w.successor[st.recent[:, 0]] == c
        cc = w.communities
        same = cc.id[st.recent] == cc.id[c][:, None]  # (n, W); padding is in no community
        coclick = (recency_weights(st.n_hist, self.s.recency_decay) * same).sum(axis=1) * cc.share_id[c]
        theta = (st.slot_weight * (st.slots == w.interests.id[c][:, None])).sum(axis=1)
        taste = theta * w.interests.share_id[c]
        popular = w.weight_id[c] / w.total
        return pi[:, 0] * series + pi[:, 1] * coclick + pi[:, 2] * taste + pi[:, 3] * popular

    def forbidden_mass(self, state: UserState, history: np.ndarray, hist_len: np.ndarray) -> np.ndarray:
        """``P_mix`` of everything a user may not click: its history (rows of ``history``, the first
        ``hist_len`` entries) and, for early users, the fresh items."""
        user = np.repeat(np.arange(len(hist_len)), hist_len)
        items = history[np.arange(history.shape[1])[None, :] < hist_len[:, None]]
        mass = np.bincount(user, weights=self.mix_prob(state, items, user), minlength=len(hist_len))
        if state.early.any():
            mass += np.where(state.early, self.fresh_mass(state), 0.0)
        return mass

    def fresh_mass(self, state: UserState) -> np.ndarray:
        """``P_mix`` of the fresh items for each user (fresh items are never in an early history)."""
        w = self.world
        fresh = np.flatnonzero(w.fresh[1:])
        pi = self.component_weights(state)
        series = w.fresh[w.successor[state.recent[:, 0]]]
        cc_fresh = np.concatenate([w.communities.mass_of(fresh, w.weight), [0.0]])  # [-1]: padding
        coclick = (recency_weights(state.n_hist, self.s.recency_decay) * cc_fresh[w.communities.id[state.recent]]).sum(axis=1)
        taste = (state.slot_weight * w.interests.mass_of(fresh, w.weight)[state.slots]).sum(axis=1)
        popular = w.weight[fresh].sum() / w.total
        return pi[:, 0] * series + pi[:, 1] * coclick + pi[:, 2] * taste + pi[:, 3] * popular
