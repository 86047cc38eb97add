"""The hooks a plugin implements. This module is the whole plugin API surface.

Each hook receives ``register(name, factory, **metadata)``. ``factory`` is usually a class; it is
registered cheaply and heavy imports (torch models, transformers) happen only when it is used.
"""
import pluggy

#: Bumped when a hook or a component interface changes incompatibly. A plugin may declare
#: ``MMBENCH_API_VERSION = 1`` in its module; a mismatch is reported by ``mmbench plugins --check``.
API_VERSION = 1

hookspec = pluggy.HookspecMarker("mmbench")


@hookspec
def register_encoders(register):
    """Register item encoders: ``register("clip", ClipEncoder)``.

    An encoder class has a nested ``Params`` dataclass and ``encode(items: ItemTable, ctx) ->
    np.ndarray`` returning float32 (n_items, d) with row 0 (padding) all zeros.
    """


@hookspec
def register_reducers(register):
    """Register dimension reducers: ``register("pca", PcaReducer)``.

    A reducer has ``Params`` and ``fit(vecs) -> self`` plus ``apply(vecs) -> np.ndarray``; a trainable
    reducer instead sets ``trainable = True`` and offers ``module(in_dim) -> nn.Module`` (with an
    ``out_dim`` attribute), a fresh layer per model that the model's optimiser trains; it may also have
    ``fit(vecs)``, called once per item table before ``module`` (e.g. for a PCA initialisation).
    """


@hookspec
def register_models(register):
    """Register CTR models: ``register("din", DIN)``.

    A model class has ``Params`` (defaults from its folder's ``config.yaml``) and
    ``build(spec: FeatureSpec, params) -> nn.Module`` whose ``forward(batch) -> logits``.
    """


@hookspec
def register_datasets(register):
    """Register datasets: ``register("microlens_1m", MicroLens1M)``; ``load(params, ctx) -> MMCTRData``."""
