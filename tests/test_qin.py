"""qin: the quadratic layer by hand and the packed sparse attention against the published formula."""
import pytest
import torch

from mmbench_zoo.layers import pack_history
from mmbench_zoo.qin.model import QIN, QINParams, QuadraticLayer, QuadraticNetwork, SparseTargetAttention


def hand_layer(dropout: float) -> QuadraticLayer:
    layer = QuadraticLayer(2, rows=2, dropout=dropout)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, -1.0],    # W_1
                                                [0.0, 1.0], [1.0, 0.0]]))   # W_2
        layer.linear.bias.copy_(torch.tensor([0.5, 1.0, -1.0, 0.0]))       # b_1, b_2
    return layer


@pytest.mark.parametrize("training", [False, True])
def test_quadratic_layer_matches_its_equation_by_hand(training):
    x = torch.tensor([[1.0, 3.0]])
    # W_1 x + b_1 = [1 + 6 + 0.5, -3 + 1] = [7.5, -2]; W_2 x + b_2 = [3 - 1, 1] = [2, 1]
    # x ⊙ (sum) = [1, 3] ⊙ [9.5, -1] = [9.5, -3]
    # training with a vanishing dropout rate runs the per-row path (each row dropped on its own),
    # evaluation the summed-weight path
    layer = hand_layer(1e-9).train(training)
    torch.testing.assert_close(layer(x), torch.tensor([[9.5, -3.0]]))


def test_quadratic_network_layer_is_residual_prelu_of_the_quadratic_form():
    net = QuadraticNetwork(2, layers=1, rows=2, dropout=0.0, batch_norm=False).eval()
    net.layers[0] = hand_layer(0.0)
    with torch.no_grad():
        net.fc.weight.copy_(torch.tensor([[1.0, -2.0]]))
        net.fc.bias.fill_(0.5)
    # x + PReLU_0.25([9.5, -3]) = [1 + 9.5, 3 - 0.75] = [10.5, 2.25]; logit = 10.5 - 4.5 + 0.5
    torch.testing.assert_close(net(torch.tensor([[1.0, 3.0]])), torch.tensor([6.5]))


def test_sparse_attention_equals_the_published_dense_formula():
    torch.manual_seed(0)
    att = SparseTargetAttention(6, 12)
    n_items, b, length = 30, 5, 7
    table = torch.randn(n_items, 6)
    table[0] = 0
    seq = torch.randint(1, n_items, (b, length))
    seq[torch.arange(length)[None, :] < torch.tensor([0, 3, 7, 5, 6])[:, None]] = 0  # row 2 empty
    target = torch.randn(b, 6)
    row, ids = pack_history(seq)
    got = att(target, table, ids, row)
    # published: scores = (W_q t)·(W_k H) / sqrt(A), times the mask (1 = real item), ReLU, @ W_v H,
    # then W_o and the target as residual
    hist, mask = table[seq], (seq != 0).float()
    scores = torch.einsum("ba,bla->bl", att.w_q(target), att.w_k(hist)) / 12 ** 0.5 * mask
    want = att.w_o(torch.einsum("bl,bla->ba", torch.relu(scores), att.w_v(hist))) + target
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got[2], target[2])  # no history: the target alone


def test_defaults_are_the_submitted_configuration():
    p, t = QINParams(), QIN.TRAIN_DEFAULTS
    assert (p.embedding_dim, p.qnn_layers, p.num_row, p.net_dropout, p.batch_norm) == (128, 4, 4, 0.1, True)
    assert (t["batch_size"], t["lr"], t["embedding_reg"], t["patience"], t["plateau_lr_factor"]) == (8192, 2e-3, 2e-4, 8, 0.5)
