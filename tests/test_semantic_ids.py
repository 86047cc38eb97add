"""The ``rq`` and ``vq`` reducers through the pipeline: codes, vocabularies, padding, seeds, models."""
from pathlib import Path

import numpy as np
import pytest

from mmbench.run import config, pipeline
from mmbench.contract.components import RunContext
from mmbench.errors import ConfigError


@pytest.fixture(scope="module")
def registry():
    import mmbench_plugins.reducers.semantic_ids as semantic_ids
    import mmbench_zoo.din as din
    from fakes import registry_with_fakes

    return registry_with_fakes(semantic_ids=semantic_ids, din=din)


def reduce(registry, home: Path, reducer: dict, model=None, train=None):
    resolved = pipeline.resolve(config.from_dict({
        "dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"}, "reducer": reducer,
        "model": model or {"name": "din", "embedding_dim": 8, "attention_hidden": [16], "dnn_hidden": [16]},
        "train": train or {"epochs": 1, "threads": 1},
    }, "test.yaml"), registry)
    ctx = RunContext(home=home)
    data = pipeline.load_data(resolved.dataset, ctx)
    return resolved, data, pipeline.reduce_items(resolved, pipeline.encode_items(resolved, data, ctx), ctx)


def test_rq_codes_vocabulary_and_padding(registry, tmp_path):
    _, data, red = reduce(registry, tmp_path, {"name": "rq", "levels": 3, "codes": 8})
    assert red.codes.shape == (200, 3) and red.code_vocab == (9, 9) + (9,)
    assert red.table.shape == (200, 0)  # codes only by default
    assert not red.codes[0].any() and red.codes[1:].min() >= 1 and red.codes[1:].max() <= 8
    again = reduce(registry, tmp_path, {"name": "rq", "levels": 3, "codes": 8})[2]
    assert again.cache_hit and np.array_equal(again.codes, red.codes)


def test_rq_codes_are_deterministic_by_seed(registry, tmp_path):
    a = reduce(registry, tmp_path / "a", {"name": "rq", "codes": 8, "seed": 1})[2].codes
    b = reduce(registry, tmp_path / "b", {"name": "rq", "codes": 8, "seed": 1})[2].codes  # computed afresh
    c = reduce(registry, tmp_path / "c", {"name": "rq", "codes": 8, "seed": 2})[2].codes
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_rq_quantised_vectors_get_closer_with_each_level(registry, tmp_path):
    _, data, plain = reduce(registry, tmp_path, {"name": "none"})
    errors = []
    for levels in (1, 2, 3):
        red = reduce(registry, tmp_path, {"name": "rq", "levels": levels, "codes": 8, "vectors": "quantised"})[2]
        assert red.table.shape == plain.table.shape and not red.table[0].any()
        errors.append(float(((red.table - plain.table) ** 2).sum()))
    assert errors[0] > errors[1] > errors[2], errors


def test_vq_groups_share_one_codebook(registry, tmp_path):
    red = reduce(registry, tmp_path, {"name": "vq", "codes": 16, "groups": 5, "vectors": "input"})[2]
    assert red.codes.shape == (200, 5) and red.code_vocab == (17,) * 5
    assert red.table.shape == (200, 5) and not red.codes[0].any()


def test_too_many_codes_or_groups_that_do_not_divide_are_config_errors(registry, tmp_path):
    with pytest.raises(ConfigError, match=r"reducer.codes=500, but there are only 199 items.*reducer.codes <= 199"):
        reduce(registry, tmp_path, {"name": "rq", "codes": 500})
    with pytest.raises(ConfigError, match=r"reducer.codes=500, but there are only 199 \(sub-\)vectors"):
        reduce(registry, tmp_path, {"name": "vq", "codes": 500})
    with pytest.raises(ConfigError, match=r"reducer.groups=7, but the encoder gives \d+-d vectors.*divisor"):
        reduce(registry, tmp_path, {"name": "vq", "codes": 4, "groups": 7})


def test_din_learns_from_rq_codes_alone(registry, tmp_path):
    resolved, data, red = reduce(registry, tmp_path, {"name": "rq", "levels": 2, "codes": 5},
                                 train={"epochs": 2, "batch_size": 256, "lr": 0.01, "threads": 1})
    trained = pipeline.train_model(resolved, data, red)
    assert trained.model.items.vec_proj is None and trained.model.items.code_emb.num_embeddings == 12
    assert trained.result.valid["auc"] > 0.65, trained.result.valid
