"""The one YAML loader of every file mmbench reads (run configs, sweep and search files, model
defaults, published results, ``--set`` values): safe, and a key given twice in one mapping is an
error naming the key and both places, also when both are on one line (``{dim: 16, dim: 8}``);
plain YAML would keep the last one silently."""
from __future__ import annotations

import yaml

from ..errors import short


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping gives one key twice; ``problem`` says which and where, ``problem_mark`` is the second."""


class UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<: *base``: merged keys may be overridden, that is what a merge is for
            key = self.construct_object(key_node, deep=True)
            mark = key_node.start_mark
            try:
                first = seen.setdefault(key, mark)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if first is not mark:
                where = (f"at column {first.column + 1} of the same line" if first.line == mark.line
                         else f"on line {first.line + 1}")
                raise DuplicateKeyError(None, None, f"key '{short(str(key), 60)}' is given twice (first {where}); "
                                                    f"keep one of them", mark)
        return super().construct_mapping(node, deep)


def load(text: str, name: str = "<yaml>"):
    """The data of one YAML document; raises :class:`yaml.YAMLError` (a :class:`DuplicateKeyError`
    for a repeated key), ``RecursionError`` or ``ValueError`` like ``yaml.safe_load``."""
    loader = UniqueKeyLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
