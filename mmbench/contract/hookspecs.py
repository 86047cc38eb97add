"""The hooks a plugin implements (with ``@mmbench.hookimpl``); the component contracts they register
are the base classes in ``mmbench/contract/components.py``.

The ``register_*`` hooks receive ``register(name, cls, **metadata)``; ``cls`` may be a ``"module:Class"``
reference, imported on first use (a model class needs torch). Register cheaply: heavy imports
(transformers, open_clip, torch) belong inside the component's methods, not at module import.

Experiment trackers are a component kind (``register_trackers``, ``components.Tracker``: one instance
per tracked run). The ``on_run_*`` / ``on_epoch_end`` hooks are plain listeners: called for every run
(``mmbench run``, each run of a sweep, each trial of a search) by every plugin that implements them.
"""
import pluggy

hookspec = pluggy.HookspecMarker("mmbench")


@hookspec
def register_encoders(register):
    """Register item encoders: ``register("clip", ClipEncoder)``, a ``components.Encoder`` subclass."""


@hookspec
def register_reducers(register):
    """Register dimension reducers: ``register("pca", PcaReducer)``, a ``components.FixedReducer`` or
    ``components.TrainableReducer`` subclass."""


@hookspec
def register_models(register):
    """Register CTR models: ``register("din", DIN)``, a ``components.Model`` subclass."""


@hookspec
def register_datasets(register):
    """Register datasets: ``register("microlens_1m", MicroLens1M)``, a ``components.Dataset`` subclass."""


@hookspec
def tracker_names():
    """Deprecated (plugin API 2, before trackers were a component kind): the names a plugin tracks runs
    under through its own ``on_run_*`` hooks, e.g. ``["wandb"]``. ``train.track`` accepts them, and the
    plugin's hooks decide for themselves which runs to log; ``register_trackers`` replaces this."""


@hookspec
def register_trackers(register):
    """Register experiment trackers: ``register("mlflow", MLflowTracker)``, a ``components.Tracker``
    subclass. A run asks for one by name (``train.track: NAME`` or ``MMBENCH_TRACK=NAME``); a name no
    installed plugin registers is refused before the run starts."""


@hookspec
def on_run_start(run):
    """A run begins. ``run`` is its ``pipeline.Resolved``: ``run.as_dict()`` is the validated config,
    ``run.config_hash()`` its identity (the leaderboard's ``config_hash``)."""


@hookspec
def on_epoch_end(run, log):
    """An epoch ended: ``log`` is a ``trainer.EpochLog`` (epoch, train_loss, valid metrics, seconds).
    Called where the training runs in the mmbench process (not on Ray workers)."""


@hookspec
def on_run_end(run, row, valid):
    """A run ended: ``row`` is its leaderboard ``row.Row`` (``row.status`` 'ok' or 'failed'),
    ``valid`` its ``components.ValidPredictions`` (None for a failed run)."""
