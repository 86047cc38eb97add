"""transformer_dcn: the packed Transformer against torch's nn.TransformerEncoder under both masks."""
import numpy as np
import pytest
import torch
from torch import nn

from mmbench.contract.features import FeatureSpec, ItemVectors
from mmbench.run.trainer import TrainParams, fit
from mmbench_zoo.transformer_dcn.model import (
    Packing, TargetAwareTransformer, TransformerDCN, TransformerDCNParams, kept_positions)

ITEM_DIM, HEADS, FF, LAYERS, FIRST_K = 6, 2, 10, 2, 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def hand_built_batch():
    """Left-padded histories of 8: a full row, 3 items, 1 item, none; item 0 is padding."""
    seq = torch.tensor([
        [5, 3, 9, 2, 7, 4, 1, 8],
        [0, 0, 0, 0, 0, 6, 2, 9],
        [0, 0, 0, 0, 0, 0, 0, 4],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ])
    torch.manual_seed(3)
    table = torch.randn(10, ITEM_DIM)
    table[0] = 0  # the item encoder's padding vector
    target = torch.randn(4, ITEM_DIM)
    return seq, table, target


def seq_module():
    torch.manual_seed(0)
    module = TargetAwareTransformer(ITEM_DIM, LAYERS, HEADS, FF, 0.2, FIRST_K, True).eval()
    with torch.no_grad():  # non-trivial norms and biases, so that a mix-up of parameters shows
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def torch_encoder(module: TargetAwareTransformer) -> nn.TransformerEncoder:
    """torch's own encoder holding the packed module's weights."""
    dim = 2 * ITEM_DIM
    layer = nn.TransformerEncoderLayer(dim, HEADS, FF, dropout=0.2, batch_first=True)
    encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False).eval()
    for ours, theirs in zip(module.layers, encoder.layers):
        with torch.no_grad():
            theirs.self_attn.in_proj_weight.copy_(ours.in_proj.weight)
            theirs.self_attn.in_proj_bias.copy_(ours.in_proj.bias)
            for name in ("out_proj", "linear1", "linear2", "norm1", "norm2"):
                theirs.get_submodule({"out_proj": "self_attn.out_proj"}.get(name, name)).load_state_dict(
                    getattr(ours, name).state_dict())
    return encoder


def dense_readout(module, encoder, table, seq, target, ignore):
    """The published model's readout around torch's encoder: ``ignore`` is the key padding mask."""
    hist = table[seq]
    tokens = torch.cat([hist, target[:, None, :].expand_as(hist)], dim=-1)
    out = encoder(tokens, src_key_padding_mask=ignore).masked_fill(ignore[..., None], 0.0)
    last = out[:, -FIRST_K:].flatten(1)
    pooled = module.out_linear(out.masked_fill(ignore[..., None], -1e9).max(dim=1).values)
    return torch.cat([last, pooled], dim=-1)


def packed_readout(module, table, seq, target, mask):
    pack = Packing.of(kept_positions(seq, mask))
    return module(table, seq[pack.row, pack.pos], target, pack)


@torch.no_grad()
def test_published_mask_reproduces_the_published_computation():
    seq, table, target = hand_built_batch()
    module = seq_module()
    # the published code: loader mask (1 = real item), adjust_mask (a full row un-ignores its last
    # position), passed as src_key_padding_mask (True = ignore)
    mask = (seq > 0).float()
    mask[mask.all(dim=-1), -1] = 0
    want = dense_readout(module, torch_encoder(module), table, seq, target, mask.bool())
    got = packed_readout(module, table, seq, target, "published")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # what that means: the last 3 slots of row 1 are real items, so their outputs are zero; the full
    # row 0 keeps only its last position
    dim = 2 * ITEM_DIM
    assert not got[1, :FIRST_K * dim].any()
    assert not got[0, :(FIRST_K - 1) * dim].any() and got[0, (FIRST_K - 1) * dim:FIRST_K * dim].any()


@torch.no_grad()
def test_correct_mask_attends_to_real_items_only():
    seq, table, target = hand_built_batch()
    module = seq_module()
    real_rows = slice(0, 3)  # torch's encoder gives NaN for a row with every key ignored
    want = dense_readout(module, torch_encoder(module), table[:, :], seq[real_rows], target[real_rows],
                         seq[real_rows] == 0)
    got = packed_readout(module, table, seq, target, "correct")
    torch.testing.assert_close(got[real_rows], want, rtol=1e-5, atol=1e-5)
    # a row without history: zero outputs, the pooled part is out_linear of zeros
    dim = 2 * ITEM_DIM
    assert not got[3, :FIRST_K * dim].any()
    torch.testing.assert_close(got[3, FIRST_K * dim:], module.out_linear.bias)
    # row 2 has one item: slots for padding are zero, its item's output is in the last slot
    assert not got[2, :(FIRST_K - 1) * dim].any()


@torch.no_grad()
def test_published_mask_sees_only_the_last_item_of_full_rows():
    """Changing a real history item changes the correct model's output; under the published mask it
    changes nothing unless it is the last item of a full row."""
    seq, table, target = hand_built_batch()
    module = seq_module()
    edited = seq.clone()
    edited[1, 6] = 3  # a real item of a partial row
    edited[0, 7] = 6  # the last item of the full row
    for mask, changed_rows in (("published", [0]), ("correct", [0, 1])):
        before = packed_readout(module, table, seq, target, mask)
        after = packed_readout(module, table, edited, target, mask)
        differs = [r for r in range(4) if not torch.equal(before[r], after[r])]
        assert differs == changed_rows, mask


def tiny_params(**kw):
    return TransformerDCNParams(embedding_dim=8, vector_dim=8, dim_feedforward=16, first_k=4, dnn_hidden=[32],
                                mlp_hidden=[8], **kw)


def test_defaults_are_the_published_configuration():
    p = TransformerDCNParams()
    assert (p.embedding_dim, p.vector_dim, p.transformer_layers, p.num_heads, p.dim_feedforward) == (64, 128, 2, 1, 256)
    assert (p.transformer_dropout, p.first_k, p.max_pool, p.cross_layers, p.low_rank) == (0.2, 16, True, 3, 0)
    assert (p.dnn_hidden, p.mlp_hidden, p.net_dropout, p.batch_norm, p.mask) == ([1024, 512, 256], [64, 32], 0.2, False, "correct")
    t = TransformerDCN.TRAIN_DEFAULTS
    assert (t["batch_size"], t["lr"], t["patience"], t["seed"]) == (128, 5e-4, 5, 20242025)


def test_published_shapes_give_the_published_width():
    """At the published shapes the DCN input is 2*64 (levels) + 256 (target) + 17*512 = 9088 wide."""
    from fakes import make_fake_data

    data = make_fake_data(n_train=10, n_valid=10)
    spec = FeatureSpec.from_data(data, ItemVectors(np.zeros((data.items.n_items, 128), np.float32)))
    model = TransformerDCN(spec, TransformerDCNParams())
    assert model.cross.layers[0].in_features == 9088
    assert sum(p.numel() for p in model.cross.parameters()) == 3 * (9088 * 9088 + 9088)


def test_published_mask_cannot_learn_the_history_signal():
    """The fake data's labels follow the topic of the history, and its rows are rarely full: under
    the published mask the model stays near chance (``test_each_model_learns_the_planted_signal``
    holds the correct mask to > 0.7 on the same data)."""
    from fakes import make_fake_data

    data = make_fake_data()
    spec = FeatureSpec.from_data(data, ItemVectors(data.items.load_shipped("", "")))
    torch.manual_seed(0)
    model = TransformerDCN(spec, tiny_params(mask="published"))
    result = fit(model, data.train, data.valid, TrainParams(epochs=3, batch_size=128, lr=3e-3, patience=3, seed=1, threads=1))
    assert result.valid["auc"] < 0.6, result.valid
