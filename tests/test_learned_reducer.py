"""The ``learned`` reducer is a trainable projection inside the model, PCA-initialised, padding kept zero."""
import numpy as np
import pytest
import torch

from fakes import FakePlugin
from mmbench.run import config, pipeline
from mmbench.contract.components import RunContext
from mmbench.contract.registry import build_registry, new_plugin_manager
from mmbench_plugins.reducers import basic, learned
from mmbench_zoo import attention_dnn


@pytest.fixture
def registry():
    pm = new_plugin_manager()
    for plugin in (FakePlugin(), basic, learned, attention_dnn):
        pm.register(plugin)
    return build_registry(pm, entry_points=False)


def test_pca_init_matches_pca_reducer():
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((300, 20)).astype(np.float32) @ rng.standard_normal((20, 20)).astype(np.float32)
    vecs[0] = 0
    red = learned.LearnedReducer(learned.LearnedParams(dim=6))
    red.fit(vecs[1:])
    pca = basic.PcaReducer(basic.PcaParams(dim=6))
    pca.fit(vecs[1:])
    layer = red.module(20)
    assert layer.out_dim == 6 and layer.weight.requires_grad
    with torch.no_grad():
        out = layer(torch.from_numpy(vecs[1:])).numpy()
    np.testing.assert_allclose(out, pca.apply(vecs)[1:], atol=1e-3)


def test_learned_projection_trains_and_keeps_padding_zero(registry, tmp_path):
    cfg = config.from_dict({
        "dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"},
        "reducer": {"name": "learned", "dim": 3},
        "model": {"name": "attention_dnn", "embedding_dim": 8, "num_heads": 2, "dnn_hidden": [16]},
        "train": {"epochs": 1, "batch_size": 256, "threads": 1},
    })
    resolved = pipeline.resolve(cfg, registry)
    ctx = RunContext(home=tmp_path)
    data = pipeline.load_data(resolved.dataset, ctx)
    reduction = pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx)
    assert reduction.table.shape == (200, 5) and reduction.trainable is not None
    start = reduction.item_vectors().trainable.weight.detach().clone()
    trained = pipeline.train_model(resolved, data, reduction)
    model, result = trained.model, trained.result
    vectors = model.items.features.vectors
    assert vectors.out_dim == 3
    assert not torch.allclose(vectors.trainable.weight.detach(), start)  # it was trained
    with torch.no_grad():
        assert torch.count_nonzero(vectors(torch.tensor([0, 0]))) == 0
    assert result.valid["auc"] > 0.6  # the planted topic signal is learnable through it
    from mmbench.run.metrics import auc
    assert auc(data.valid.label, result.valid_probs) == pytest.approx(result.valid["auc"], abs=1e-9)
    # every model gets a fresh layer: nothing trained leaks into the next one
    assert torch.equal(reduction.item_vectors().trainable.weight.detach(), start)
