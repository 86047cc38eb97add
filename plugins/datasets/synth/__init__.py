"""The synthetic MicroLens-1M generator, next to its dataset plugin (``microlens_1m_synth`` in
``../microlens.py``): world 1 (``world1.py``, the first stand-in) and world 2 (``world2.py``, the
challenge's row protocol; the default), their item content, behaviour, covers, titles, oracle and the
writer of the challenge layout (``layout.py``). The core never imports this package: it reads what a
generated root holds through ``mmbench/data/truth.py`` and ``oracle.json``."""
