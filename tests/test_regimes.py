"""The winners' training regimes in the shared trainer: warm-up, cosine decay, a floor for the plateau
reductions, gradient accumulation."""
import pytest
import torch
from fakes import make_fake_data
from torch import nn

from mmbench.run.trainer import Callbacks, LrSchedule, TrainParams, fit


def test_warmup_then_cosine_to_the_floor():
    s = LrSchedule(TrainParams(lr=1e-3, min_lr=1e-5, schedule="cosine", warmup_steps=4), total_steps=104)
    assert [s.at(i) for i in range(4)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert s.at(4) == pytest.approx(1e-3)
    assert s.at(54) == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)  # half way through the decay
    assert s.at(104) == pytest.approx(1e-5) and s.at(500) == pytest.approx(1e-5)


def test_plateau_reductions_stop_at_min_lr():
    s = LrSchedule(TrainParams(lr=1e-3, min_lr=2e-5, plateau_lr_factor=0.1), total_steps=10)
    s.plateau()
    assert s.at(3) == pytest.approx(1e-4)
    s.plateau()
    s.plateau()
    assert s.at(3) == pytest.approx(2e-5)  # FuxiCTR's lr_decay: max(lr * factor, min_lr)


@pytest.mark.parametrize("bad, message", [({"min_lr": 1.0}, "min_lr must be at most lr=0.001, got 1.0"),
                                          ({"accumulation_steps": 0}, "accumulation_steps: must be between 1 and")])
def test_bad_regime_settings(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainParams(**bad)


class ItemLogit(nn.Module):
    """No dropout, no batch statistics: one logit per target item, so batches can be split exactly."""

    def __init__(self, n_items):
        super().__init__()
        self.w = nn.Embedding(n_items, 1)

    def forward(self, batch):
        return self.w(batch["item_id"].long()).squeeze(-1)


def trained_weights(data, **train):
    torch.manual_seed(0)
    model = ItemLogit(data.items.n_items)
    fit(model, data.train, data.valid, TrainParams(epochs=1, threads=1, seed=3, lr=0.05, **train))
    return model.w.weight.detach().clone()


def test_accumulating_two_half_batches_is_one_full_batch():
    data = make_fake_data(n_train=1024, n_valid=100)
    full = trained_weights(data, batch_size=128)
    halves = trained_weights(data, batch_size=64, accumulation_steps=2)
    torch.testing.assert_close(halves, full, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(trained_weights(data, batch_size=64), full, atol=1e-4)  # without: other steps


def test_each_optimizer_step_uses_the_scheduled_rate(monkeypatch):
    import mmbench.run.trainer as trainer

    data = make_fake_data(n_train=1000, n_valid=100)
    made, seen = [], []
    real = trainer.make_optimizer
    monkeypatch.setattr(trainer, "make_optimizer", lambda m, p: made.append(real(m, p)) or made[-1])

    class Spy(Callbacks):
        def on_optimizer_step(self, epoch, step):
            seen.append(made[0].param_groups[0]["lr"])

    torch.manual_seed(0)
    params = TrainParams(epochs=2, batch_size=100, lr=0.01, schedule="cosine", warmup_steps=3, threads=1)
    fit(ItemLogit(data.items.n_items), data.train, data.valid, params, Spy())
    assert seen == pytest.approx([LrSchedule(params, 20).at(i) for i in range(20)])
    assert seen[0] == pytest.approx(0.01 / 3) and seen[3] == pytest.approx(0.01) and seen[-1] < 1e-3


def test_sigmoid_loss_is_fuxictrs_and_stays_out_of_the_hash():
    """train.loss: sigmoid is FuxiCTR's BCE of sigmoid(logit): a saturated wrong logit costs 100 (the log
    is clamped) and gives no gradient, where BCE on the logits costs |z| and pushes back with p - y = 1."""
    import torch

    from mmbench.contract.params import params_to_dict
    from mmbench.run.trainer import TrainParams, sigmoid_bce

    z = torch.tensor([40.0, 0.3], requires_grad=True)
    y = torch.tensor([0.0, 1.0])
    loss = sigmoid_bce(z, y)
    loss.backward()
    assert loss.item() == pytest.approx((100.0 + torch.nn.functional.softplus(torch.tensor(-0.3)).item()) / 2, rel=1e-5)
    assert z.grad[0].item() == 0.0 and z.grad[1].item() != 0.0
    z2 = z.detach().clone().requires_grad_(True)
    torch.nn.functional.binary_cross_entropy_with_logits(z2, y).backward()
    assert z2.grad[0].item() == pytest.approx(0.5)  # (p - y) / 2 rows
    assert "loss" not in params_to_dict(TrainParams())  # committed rows keep their hash
    assert params_to_dict(TrainParams(loss="sigmoid"))["loss"] == "sigmoid"
