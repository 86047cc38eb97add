"""What the registered models declare about other code of their function (``Model.AUTHORS_CODE`` for
``bench fidelity --pair``, ``Model.PEERS`` for ``bench train --vs``), found by name."""
from __future__ import annotations

from ..errors import ConfigError


def model_classes() -> list[tuple[str, type]]:
    """(name, class) of every registered model, whose declarations the bench reads."""
    from ..contract.registry import default_registry

    registry = default_registry()
    return [(name, registry.get("model", name).factory) for name in registry.names("model")]


def find(option: str, name: str, known: dict):
    """``known[name]``, or one line naming ``option``, the closest name and those there are."""
    if name not in known:
        from ..contract.params import did_you_mean

        raise ConfigError(f"{option} {name}: no model declares it{did_you_mean(name, list(known))}; "
                          f"known: {', '.join(sorted(known)) or 'none'}")
    return known[name]
