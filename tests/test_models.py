import copy
import dataclasses

import numpy as np
import pytest
import torch
from fakes import make_fake_data, registry_with_fakes

from mmbench.run import config, pipeline
from mmbench.errors import ConfigError
from mmbench.contract.features import FeatureSpec, ItemVectors
from mmbench.run.trainer import TrainParams, fit
from mmbench_zoo.attention_dnn.model import AttentionDNN
from mmbench_zoo.dcn.model import DCN, DCNParams
from mmbench_zoo.din.model import DIN, DINParams
from mmbench_zoo.layers import CrossNet, ItemFeatureEmbedding, TargetAttention, encode_batch_items, pack_history
from mmbench_zoo.qin.model import QIN, QINParams
from mmbench_zoo.transformer_dcn.model import TransformerDCN, TransformerDCNParams

TINY = {
    "din": (DIN, DINParams(embedding_dim=8, attention_hidden=[16, 8], dnn_hidden=[32, 16])),
    "dcn": (DCN, DCNParams(embedding_dim=8, attention_hidden=[16], dnn_hidden=[32, 16], cross_layers=2)),
    "attention_dnn": (AttentionDNN, AttentionDNN.Params(embedding_dim=8, dnn_hidden=[32, 16])),
    "transformer_dcn": (TransformerDCN, TransformerDCNParams(embedding_dim=8, vector_dim=8, dim_feedforward=16,
                                                             first_k=4, dnn_hidden=[32], mlp_hidden=[8],
                                                             item_levels=True)),
    "din_variants": (DIN, DINParams(embedding_dim=8, attention_hidden=[16, 8], dnn_hidden=[32, 16],
                                    target_attention_heads=2, cross_attention_layers=1, cross_attention_heads=2,
                                    senet_reduction=2, use_user_id=True)),
    "qin": (QIN, QINParams(embedding_dim=8, vector_dim=8, qnn_layers=2, num_row=2, item_levels=True)),
}
ALL = list(TINY)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return make_fake_data()


def spec_of(data):
    return FeatureSpec.from_data(data, ItemVectors(data.items.load_shipped("", "")))


def batch_of(split, rows=slice(0, 64)):
    cols = split.take(rows).columns()
    return {k: torch.from_numpy(np.ascontiguousarray(v)).long() for k, v in cols.items() if k != "label"}


def reference_din_attention(att: TargetAttention, q, hist, mask):
    """The textbook form: MLP([q, k, q-k, q*k]) at every position, masked, weighted sum."""
    q = q.unsqueeze(1).expand_as(hist)
    x = torch.cat([q, hist, q - hist, q * hist], dim=-1)
    score = att.rest(att.first(x.flatten(0, 1))).view(mask.shape) * mask
    return (score.unsqueeze(-1) * hist).sum(1)


def test_packed_attention_equals_textbook_form():
    torch.manual_seed(0)
    att = TargetAttention(6, [10, 5], "dice", dropout=0.0).eval()
    for m in att.modules():  # non-trivial running stats so that Dice is not the identity-ish default
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    n_items, b, length = 30, 7, 9
    table = torch.randn(n_items, 6)
    seq = torch.randint(1, n_items, (b, length))
    seq[torch.arange(length)[None, :] < torch.tensor([0, 3, 9, 5, 1, 8, 2])[:, None]] = 0  # row 2 empty
    q = torch.randn(b, 6)
    row, ids = pack_history(seq)
    got = att(q, table, ids, row)
    want = reference_din_attention(att, q, table[seq], (seq != 0).float())
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert not got[2].any()  # a row without history pools to zero


@pytest.mark.parametrize("name", ["din", "qin", "transformer_dcn"])
@pytest.mark.parametrize("zero_is_padding", [True, False])
def test_zero_level_is_padding_ignores_the_level_zero_embedding(data, name, zero_is_padding):
    """FuxiCTR gives the row levels padding_idx 0: level 0 embeds as zeros whatever the table holds."""
    import dataclasses

    torch.manual_seed(0)
    cls, params = TINY[name]
    model = cls(spec_of(data), dataclasses.replace(params, zero_level_is_padding=zero_is_padding)).eval()
    batch = batch_of(data.train)
    batch["likes_level"][:32] = 0
    batch["likes_level"][32:] = batch["likes_level"][32:].clamp(min=1)
    before = model(batch)
    with torch.no_grad():
        model.level_emb.weight[0] += 1.0  # likes level 0
    after = model(batch)
    torch.testing.assert_close(after[32:], before[32:])  # rows with another level: untouched either way
    assert torch.allclose(after[:32], before[:32]) == zero_is_padding


def test_padding_in_stats_equals_fuxictr_form_in_training():
    """FuxiCTR's DIN_Attention runs the MLP over every position (padding's key is 0) and masks the
    scores: Dice's batch statistics, and so its running statistics, include the padded positions."""
    torch.manual_seed(0)
    ours = TargetAttention(6, [10, 5], "dice", dropout=0.0, padding_in_stats=True).train()
    dense = TargetAttention(6, [10, 5], "dice", dropout=0.0).train()
    dense.load_state_dict(ours.state_dict())
    table = torch.randn(30, 6)
    table[0] = 0.0  # the padding item is all zeros, as in FuxiCTR's embedding layers
    seq = torch.randint(1, 30, (7, 9))
    seq[torch.arange(9)[None, :] < torch.tensor([0, 3, 9, 5, 1, 8, 2])[:, None]] = 0
    q = torch.randn(7, 6)
    row, ids = pack_history(seq)
    got = ours(q, table, ids, row, history_len=9)
    want = reference_din_attention(dense, q, table[seq], (seq != 0).float())
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    bn_ours = [m for m in ours.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    bn_dense = [m for m in dense.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    for a, b in zip(bn_ours, bn_dense):
        torch.testing.assert_close(a.running_mean, b.running_mean)
        torch.testing.assert_close(a.running_var, b.running_var)
    # without the option the statistics cover the real items only, and the outputs differ
    dense.load_state_dict(ours.state_dict())
    ours.padding_in_stats = False
    assert not torch.allclose(ours(q, table, ids, row, history_len=9), want, atol=1e-4)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("train_mode", [False, True])
def test_padding_does_not_change_the_output(data, name, train_mode):
    cls, params = TINY[name]
    torch.manual_seed(0)
    model = cls(spec_of(data), params).train(train_mode)
    batch = batch_of(data.train)
    assert (batch["item_seq"] == 0).any() and (batch["item_seq"] != 0).any()

    def run(m):
        torch.manual_seed(1)  # same dropout masks
        with torch.no_grad():
            return m(batch)

    before = run(model)
    poisoned = copy.deepcopy(model)
    with torch.no_grad():  # whatever sits behind id 0 must never be read for history or pooling
        poisoned.items.id_emb.weight[0].normal_(std=10.0)
        poisoned.items.level_emb.weight.add_(0.0)
        poisoned.items.features.vectors.table[0].normal_(std=10.0)
        poisoned.items.features.tags[0] = 1
        poisoned.items.features.likes[0] = 7
    torch.testing.assert_close(run(poisoned), before)


def test_cross_layer_matches_its_equation_by_hand():
    net = CrossNet(2, 1)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.tensor([[1.0, 2.0], [0.0, -1.0]]))
        net.layers[0].bias.copy_(torch.tensor([0.5, 1.0]))
    x0 = torch.tensor([[1.0, 3.0]])
    # W x0 + b = [1 + 6 + 0.5, -3 + 1] = [7.5, -2]; x0 * that + x0 = [7.5 + 1, -6 + 3]
    torch.testing.assert_close(net(x0), torch.tensor([[8.5, -3.0]]))
    two = CrossNet(2, 2)
    with torch.no_grad():
        for layer in two.layers:
            layer.weight.copy_(torch.eye(2))
            layer.bias.zero_()
    # x1 = x0*x0 + x0 = [2, 12]; x2 = x0*x1 + x1 = [4, 48]
    torch.testing.assert_close(two(x0), torch.tensor([[4.0, 48.0]]))


def test_low_rank_cross_is_a_product_of_two_maps():
    net = CrossNet(4, 1, rank=2)
    u, v = net.layers[0][0], net.layers[0][1]
    x0 = torch.randn(3, 4)
    want = x0 * (x0 @ (v.weight @ u.weight).T + v.bias) + x0
    torch.testing.assert_close(net(x0), want)


@pytest.mark.parametrize("name", ALL)
def test_each_model_learns_the_planted_signal(data, name):
    cls, params = TINY[name]
    torch.manual_seed(0)
    model = cls(spec_of(data), params)
    result = fit(model, data.train, data.valid, TrainParams(epochs=3, batch_size=128, lr=3e-3, patience=3, seed=1, threads=1))
    # chance is 0.5 and the oracle ~0.78 (labels follow the topic of the history: P = 0.7 vs 0.1);
    # QIN's ReLU-scored attention picks the topic up more slowly (0.70-0.75 over seeds 0-2 by epoch 3-6)
    assert result.valid["auc"] > (0.65 if name == "qin" else 0.7), result.valid


def test_dcn_variants_build_and_run(data):
    spec = spec_of(data)
    batch = batch_of(data.train, slice(0, 16))
    for kw in ({"structure": "stacked"}, {"low_rank": 3}, {"history": "mean"}):
        model = DCN(spec, DCNParams(embedding_dim=4, dnn_hidden=[8], attention_hidden=[8], **kw)).eval()
        assert model(batch).shape == (16,)
    with_softmax = DIN(spec, DINParams(embedding_dim=4, attention_hidden=[8], dnn_hidden=[8], use_softmax=True))
    assert torch.isfinite(with_softmax.eval()(batch)).all()


@pytest.fixture
def zoo_registry():
    import mmbench_zoo.dcn as dcn
    import mmbench_zoo.din as din

    return registry_with_fakes(din=din, dcn=dcn)


def run_config(model, train=None):
    return config.from_dict({
        "dataset": {"name": "fake"}, "encoder": {"name": "shipped_fake"}, "reducer": {"name": "none"},
        "model": model, "train": train or {},
    }, "run.yaml")


def test_din_defaults_are_the_published_baseline(zoo_registry):
    resolved = pipeline.resolve(run_config({"name": "din"}), zoo_registry)
    p, t = resolved.model.params, resolved.train
    assert (p.embedding_dim, p.attention_hidden, p.dnn_hidden) == (64, [512, 256], [1024, 512, 256])
    assert (p.attention_activation, p.use_softmax, p.batch_norm, p.net_dropout) == ("dice", False, True, 0.1)
    assert (t.batch_size, t.lr, t.patience, t.embedding_reg) == (8192, 1e-3, 3, 1e-6)


def test_run_config_overrides_model_defaults(zoo_registry):
    resolved = pipeline.resolve(run_config({"name": "din", "embedding_dim": 16}, {"batch_size": 512}), zoo_registry)
    assert resolved.model.params.embedding_dim == 16 and resolved.model.params.dnn_hidden == [1024, 512, 256]
    assert resolved.train.batch_size == 512


@pytest.mark.parametrize("model, message", [
    ({"name": "din", "atention_hidden": [8]}, r"run.yaml: model \(din\): unknown key 'atention_hidden' \(did you mean 'attention_hidden'\?\)"),
    ({"name": "dcn", "cross_layer": 2}, r"unknown key 'cross_layer' \(did you mean 'cross_layers'\?\)"),
    ({"name": "dcn", "structure": "diagonal"}, r"model \(dcn\).structure: expected one of 'parallel', 'stacked'"),
    ({"name": "din", "id_dropout": 1.0}, r"model \(din\).id_dropout"),
])
def test_bad_model_params_are_config_errors(zoo_registry, model, message):
    with pytest.raises(ConfigError, match=message):
        pipeline.resolve(run_config(model), zoo_registry)


def test_id_dropout_zeroes_whole_id_embeddings_in_training_only(data):
    spec = spec_of(data)
    torch.manual_seed(0)
    items = ItemFeatureEmbedding(spec, 4, id_dropout=0.5)
    torch.nn.init.normal_(items.id_emb.weight)  # a visible id part (the baseline init is N(0, 1e-4))
    ids = torch.arange(1, spec.n_items)
    with torch.no_grad():
        full = items.eval().represent(ids)
        dropped_rep = items.train().represent(ids)
    dropped = (dropped_rep[:, :4] == 0).all(-1)
    assert 0.35 < dropped.float().mean() < 0.65  # 199 items, p = 0.5
    torch.testing.assert_close(dropped_rep[~dropped], full[~dropped])  # the kept ones: unchanged
    torch.testing.assert_close(dropped_rep[dropped, 4:], full[dropped, 4:])  # content parts: never dropped
    assert torch.equal(full[:, :4], items.id_emb(ids).detach())  # eval: no dropout


def test_id_dropout_treats_an_item_alike_as_target_and_in_the_history(data):
    """One draw per distinct item of the batch: a candidate that is also in a history is dropped in both."""
    spec = spec_of(data)
    torch.manual_seed(1)
    items = ItemFeatureEmbedding(spec, 4, id_dropout=0.5).train()
    torch.nn.init.normal_(items.id_emb.weight)
    batch = batch_of(data.train, slice(0, 256))
    target, reps, key_index, _ = encode_batch_items(items, batch["item_id"], batch["item_seq"])
    _, hist_ids = pack_history(batch["item_seq"])
    keys = reps[key_index]
    same = hist_ids.long().unsqueeze(1) == batch["item_id"].long().unsqueeze(0)  # (positions, rows)
    pos, row = same.nonzero(as_tuple=True)
    assert len(pos) > 0
    torch.testing.assert_close(keys[pos], target[row])


@pytest.mark.parametrize("name", ["din", "dcn", "attention_dnn", "transformer_dcn", "qin"])
def test_every_model_passes_id_dropout_and_item_tags_to_its_item_embedding(data, name):
    cls, params = TINY[name]
    spec = spec_of(data)
    with_tags = cls(spec, params)
    model = cls(spec, dataclasses.replace(params, id_dropout=0.3, item_tags=False))
    assert model.items.id_dropout == 0.3 and model.items.tag_emb is None
    assert model.items.out_dim == with_tags.items.out_dim - 8  # the 8-wide tag part is gone
    out = model.train()(batch_of(data.train, slice(0, 32)))
    assert out.shape == (32,) and torch.isfinite(out).all()


def test_without_tags_the_item_parts_are_the_others_unchanged(data):
    spec = spec_of(data)
    torch.manual_seed(0)
    tagged = ItemFeatureEmbedding(spec, 4).eval()
    untagged = ItemFeatureEmbedding(spec, 4, use_tags=False).eval()
    untagged.load_state_dict({k: v for k, v in tagged.state_dict().items() if not k.startswith("tag_emb")})
    ids = torch.tensor([0, 1, 5, 7])
    with torch.no_grad():
        a, b = tagged.represent(ids), untagged.represent(ids)
    torch.testing.assert_close(b, torch.cat([a[:, :4], a[:, 8:]], dim=-1))  # [id, tags, vector, levels] minus tags
