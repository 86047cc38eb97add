"""din's options for the challenge's DIN variants: packed attention against torch's dense forms."""
import pytest
import torch
from torch import nn

from mmbench_zoo.interest import MultiHeadTargetAttention, SqueezeExcitation, TargetCrossAttention
from mmbench_zoo.layers import pack_history


def history(dim=8, b=5, length=7, n_items=30, seed=0):
    torch.manual_seed(seed)
    table = torch.randn(n_items, dim)
    table[0] = 0
    seq = torch.randint(1, n_items, (b, length))
    seq[torch.arange(length)[None, :] < torch.tensor([0, 3, 7, 5, 6])[:, None]] = 0  # row 2 has no history
    return table, seq, torch.randn(b, dim)


def dense_mha(mha: nn.MultiheadAttention, q, hist, seq):
    """torch's own attention, one query per row, padding ignored (rows with history only)."""
    out, _ = mha(q[:, None, :], hist, hist, key_padding_mask=seq == 0, need_weights=False)
    return out[:, 0]


def test_multi_head_target_attention_equals_the_dense_form():
    table, seq, target = history()
    att = MultiHeadTargetAttention(8, 12, heads=3, dropout=0.0)
    row, ids = pack_history(seq)
    got = att(target, table, ids, row)
    # FuxiCTR's form: per head softmax over the real items of (W_q t)·(W_k h)/sqrt(d_head), W_o of the mix
    q, (k, v) = att.w_q(target), att.w_kv(table[seq]).chunk(2, dim=-1)
    qh, kh, vh = q.view(5, 3, 4), k.view(5, 7, 3, 4), v.view(5, 7, 3, 4)
    score = torch.einsum("bhd,blhd->bhl", qh, kh) / 2.0
    score = score.masked_fill((seq == 0)[:, None, :], float("-inf")).softmax(-1)
    want = att.w_o(torch.einsum("bhl,blhd->bhd", score, vh).reshape(5, 12))
    has = seq.ne(0).any(1)
    torch.testing.assert_close(got[has], want[has], rtol=1e-5, atol=1e-5)
    assert not got[~has].any()  # no history: nothing to attend to


def test_cross_attention_layer_equals_torch_multihead_attention():
    table, seq, target = history()
    stack = TargetCrossAttention(8, layers=2, heads=2, feedforward=6, dropout=0.1).eval()
    stack.torch_init()
    row, ids = pack_history(seq)
    got = stack(target, table, ids, row)
    state = target
    for layer in stack.layers:  # Gavin113's CrossAttention_Layer around torch's nn.MultiheadAttention
        mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
        with torch.no_grad():
            mha.in_proj_weight.copy_(layer.in_proj.weight)
            mha.in_proj_bias.copy_(layer.in_proj.bias)
            mha.out_proj.load_state_dict(layer.out_proj.state_dict())
        hist = layer.norm(table[seq])
        pre_k, pre_v = layer.pre_kv(hist).chunk(2, dim=-1)
        out, _ = mha(layer.pre_q(state)[:, None], pre_k, pre_v, key_padding_mask=seq == 0, need_weights=False)
        s = layer.norm(state + out[:, 0])
        state = s + layer.ffn(s)
    has = seq.ne(0).any(1)
    torch.testing.assert_close(got[has], state[has], rtol=1e-5, atol=1e-5)
    assert isinstance(stack.layers[0].norm, nn.RMSNorm)


def test_senet_reweights_fields_by_hand():
    se = SqueezeExcitation(2, reduction=2)
    with torch.no_grad():
        se.excitation[0].weight.copy_(torch.tensor([[1.0, 1.0]]))
        se.excitation[2].weight.copy_(torch.tensor([[1.0], [2.0]]))
    # fields [1, 3] and [2, -2]: means [2, 0] -> relu(2 + 0) = 2 -> relu([2, 4]): field weights 2 and 4
    x = torch.tensor([[1.0, 3.0, 2.0, -2.0]])
    torch.testing.assert_close(se(x), torch.tensor([[2.0, 6.0, 8.0, -8.0]]))


def test_senet_needs_fields_of_one_width():
    from mmbench_zoo.din.model import DINParams

    with pytest.raises(ValueError, match="vector_dim=128 must be 0 or embedding_dim=64"):
        DINParams(vector_dim=128, senet_reduction=3)
