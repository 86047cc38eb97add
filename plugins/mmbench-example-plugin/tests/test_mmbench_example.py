"""The plugin tested without installing it: registered by hand in a fresh registry."""
import numpy as np
import pytest

import mmbench_example
from mmbench.run import config, pipeline
from mmbench.contract.components import RunContext
from mmbench.data.types import ItemTable
from mmbench.contract.registry import build_registry, new_plugin_manager


@pytest.fixture
def registry():
    import mmbench_plugins.datasets.microlens as datasets
    import mmbench_plugins.reducers.basic as reducers

    pm = new_plugin_manager()
    pm.register(mmbench_example, name="example")
    pm.register(datasets, name="microlens")
    pm.register(reducers, name="basic_reducers")
    return build_registry(pm, entry_points=False)


def test_hashed_bow_shape_padding_and_similarity():
    titles = ["", "spicy ramen kitchen", "Spicy RAMEN at the kitchen", "epic boss raid"]
    items = ItemTable(4, np.zeros((4, 5), np.int32), np.zeros(4, np.int8), np.zeros(4, np.int8), titles, None)
    enc = mmbench_example.HashedBowEncoder(mmbench_example.HashedBowEncoder.Params(dim=64))
    vecs = enc.encode(items, None)
    assert vecs.shape == (4, 64) and vecs.dtype == np.float32
    assert not vecs[0].any()
    assert vecs[1] @ vecs[2] > 0.7 > abs(vecs[1] @ vecs[3])


def test_end_to_end_on_tiny_synthetic(registry, tmp_path):
    cfg = config.from_dict({
        "dataset": {"name": "microlens_1m_synth", "scale": "tiny", "world": 1},  # world 1: the topic drives clicks
        "encoder": {"name": "hashed_bow", "dim": 128},
        "reducer": {"name": "pca", "dim": 16},
        "model": {"name": "mean_pool_lr"},
        "train": {"epochs": 2, "device": "cpu"},
    })
    result = pipeline.run(pipeline.resolve(cfg, registry), RunContext(home=tmp_path))
    assert result.row.valid_auc > 0.6  # titles carry the topic, the topic drives clicks
