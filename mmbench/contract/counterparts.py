"""What a model declares about other implementations of the same function, for ``mmbench bench``.

A zoo model that reproduces published code says so on its class (``AUTHORS_CODE``): ``mmbench bench
fidelity`` trains both on the same data and seeds. A model may also name in-process implementations
timed beside it by ``mmbench bench train --vs NAME`` (``PEERS``). The core knows neither by name: it
reads them from the registered models.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class AuthorsCode:
    """The authors' experiment a model is compared with by ``bench fidelity --pair NAME``."""

    name: str  # the --pair value
    authors_model: str  # the class their config names
    repos: str  # where to get their code
    configs: tuple[tuple[str, str | None], ...]  # (config path in the repo, experiment id); the first found wins
    model_params: Callable[[dict], dict]  # their config's params -> this model's params
    needs: tuple[str, ...] = ("run_expid.py",)  # files a checkout must hold
    fixed: dict = field(default_factory=dict)  # this model's params that reproduce their function
    unsupported: str = ""  # why no configuration of this model reproduces it (the command refuses, saying so)


@dataclass(frozen=True)
class Peer:
    """An implementation of the same function that ``bench train --vs NAME`` times beside the model: a
    module run as ``python -P -m WORKER WORKDIR [REPO]`` that prints one ``BENCH_RESULT {json}`` line."""

    name: str  # the --vs value
    worker: str  # importable module
    requires: str = ""  # a package the worker imports (checked first), e.g. "fuxictr"
    repo: str = ""  # the checkout --published-repo must give ("" = none needed)
    repo_needs: tuple[str, ...] = ()  # files that checkout must hold
