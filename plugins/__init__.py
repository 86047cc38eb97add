"""mmbench's built-in encoders, reducers and datasets (installed as ``mmbench_plugins``).

They are registered through the ``mmbench`` entry-point group in setup.cfg, exactly like a
third-party plugin; the core never imports them by name.
"""
