"""The plugin contract: the component bases and their Params, the hook specs, parameter bounds, the
registry that finds and constructs components, and helpers for plugin authors (Hugging Face loading,
trackers). Plugin authors import it through ``mmbench.plugin``."""
