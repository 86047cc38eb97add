import numpy as np
import pytest
import torch
from fakes import make_fake_data
from sklearn.metrics import roc_auc_score

from mmbench.run import trainer
from mmbench.contract.features import FeatureSpec, ItemVectors
from mmbench.run.metrics import gauc
from mmbench.run.trainer import Callbacks, TrainParams, fit
from mmbench_zoo.din.model import DIN, DINParams


@pytest.fixture(scope="module")
def data():
    return make_fake_data(n_train=1200, n_valid=400)


def tiny_din(data, seed=0):
    torch.manual_seed(seed)
    spec = FeatureSpec.from_data(data, ItemVectors(data.items.load_shipped("", "")))
    return DIN(spec, DINParams(embedding_dim=4, attention_hidden=[8], dnn_hidden=[16]))


def test_early_stopping_restores_the_best_weights(data, monkeypatch):
    scripted = iter([0.60, 0.80, 0.70, 0.65, 0.9])
    monkeypatch.setattr(trainer, "evaluate_split",
                        lambda *a: ({"auc": next(scripted), "logloss": 0.5, "gauc": 0.5}, np.zeros(len(data.valid))))
    snapshots = {}

    class Snap(Callbacks):
        def on_epoch_end(self, log):
            snapshots[log.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    model = tiny_din(data)
    result = fit(model, data.train, data.valid, TrainParams(epochs=5, batch_size=256, patience=2, threads=1), Snap())
    assert (result.best_epoch, result.epochs_run, result.valid["auc"]) == (2, 4, 0.80)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, snapshots[2][key], rtol=0, atol=0)
    assert any(not torch.equal(v, snapshots[4][k]) for k, v in model.state_dict().items())


def test_plateau_lowers_the_learning_rate(data, monkeypatch):
    scripted = iter([0.7, 0.6, 0.8])
    monkeypatch.setattr(trainer, "evaluate_split", lambda *a: ({"auc": next(scripted), "logloss": 0.5}, None))
    lrs = []
    real = trainer.make_optimizer

    def spy(model, params):
        opt = real(model, params)
        lrs.append(opt)
        return opt

    monkeypatch.setattr(trainer, "make_optimizer", spy)
    fit(tiny_din(data), data.train, data.valid,
        TrainParams(epochs=3, batch_size=600, lr=1e-3, patience=5, plateau_lr_factor=0.1, threads=1))
    assert lrs[0].param_groups[0]["lr"] == pytest.approx(1e-4)


def test_same_seed_same_auc_twice(data):
    params = TrainParams(epochs=2, batch_size=128, seed=5, threads=1)
    a = fit(tiny_din(data), data.train, data.valid, params).valid
    b = fit(tiny_din(data), data.train, data.valid, params).valid
    assert a == b
    c = fit(tiny_din(data), data.train, data.valid, TrainParams(epochs=2, batch_size=128, seed=6, threads=1)).valid
    assert c["auc"] != a["auc"]


def test_regularisation_groups_follow_fuxictr_convention(data):
    model = tiny_din(data)
    groups = trainer.split_param_groups(model, embedding_reg=1e-6, net_reg=1e-5)
    emb, net, free = groups
    assert emb["weight_decay"] == 1e-6 and net["weight_decay"] == 1e-5 and free["weight_decay"] == 0
    assert any(p is model.items.id_emb.weight for p in emb["params"])
    assert any(p is model.head.weight for p in net["params"])
    assert all(p.ndim == 1 for p in free["params"])


def test_projection_reg_embedding_puts_the_vector_projection_under_the_embedding_l2(data):
    model = tiny_din(data)
    proj = model.items.vec_proj.weight
    in_group = lambda groups, name: any(p is proj for p in groups[name]["params"])  # noqa: E731
    emb, net, _ = range(3)
    default = trainer.split_param_groups(model, embedding_reg=2e-4, net_reg=0.0)
    assert in_group(default, net) and not in_group(default, emb)
    fux = trainer.split_param_groups(model, embedding_reg=2e-4, net_reg=0.0, projection_reg="embedding")
    assert in_group(fux, emb) and not in_group(fux, net)
    assert sum(len(g["params"]) for g in fux) == sum(1 for p in model.parameters() if p.requires_grad)
    # the optimizer built from TrainParams uses it: one Adam step from zero gradients is the L2 alone
    for params, decays in ((TrainParams(embedding_reg=2e-4, projection_reg="embedding"), True),
                           (TrainParams(embedding_reg=2e-4), False)):
        model = tiny_din(data)
        proj = model.items.vec_proj.weight
        before = proj.detach().clone()
        opt = trainer.make_optimizer(model, params)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        assert (not torch.equal(proj.detach(), before)) is decays


def reference_gauc(users, labels, scores):
    total, weight = 0.0, 0
    for u in np.unique(users):
        rows = users == u
        if labels[rows].min() != labels[rows].max():
            total += roc_auc_score(labels[rows], scores[rows]) * rows.sum()
            weight += rows.sum()
    return total / weight


def test_gauc_matches_a_per_user_reference():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 40, 1000)
    labels = (rng.random(1000) < 0.3).astype(np.float32)
    scores = np.round(rng.random(1000) + 0.3 * labels, 1)  # rounded: many ties inside users
    assert gauc(users, labels, scores) == pytest.approx(reference_gauc(users, labels, scores), abs=1e-12)
    assert gauc(np.array([1, 1, 2, 2]), np.array([1, 0, 1, 1]), np.array([0.9, 0.1, 0.2, 0.3])) == 1.0


def test_gauc_is_in_the_leaderboard_row():
    from mmbench.run.row import COLUMNS

    assert "valid_gauc" in COLUMNS


def test_split_rng_draws_training_apart_from_the_init_and_stays_reproducible(data, monkeypatch):
    """train.rng: shared replays the stream the initial weights came from (the first dropout masks are
    made of the init's random draws); split starts training from a stream of its own, a function of
    the seed alone; the default stays shared and out of the hash, so committed rows reproduce."""
    from mmbench.contract.params import params_to_dict

    draws = {}

    def first_training_draw(model, *args, **kwargs):
        draws[len(draws)] = torch.rand(4)
        raise StopIteration

    monkeypatch.setattr(trainer, "_train", first_training_draw)
    for rng in ("shared", "split", "split"):
        with pytest.raises(StopIteration):
            trainer.build_and_fit(lambda: tiny_din(data), data.train, data.valid,
                                  TrainParams(epochs=1, seed=5, rng=rng))
    torch.manual_seed(5)
    seed_state_draw = torch.rand(4)
    assert torch.equal(draws[0], seed_state_draw)  # shared: training draws what the build drew first
    assert not torch.equal(draws[1], seed_state_draw) and torch.equal(draws[1], draws[2])
    assert trainer.training_seed(5) == trainer.training_seed(5) != trainer.training_seed(6)
    assert "rng" not in params_to_dict(TrainParams()) and params_to_dict(TrainParams(rng="split"))["rng"] == "split"
    monkeypatch.undo()
    params = TrainParams(epochs=2, batch_size=128, seed=5, threads=1, rng="split")
    a = fit(tiny_din(data), data.train, data.valid, params).valid
    b = fit(tiny_din(data), data.train, data.valid, params).valid
    assert a == b
    assert a != fit(tiny_din(data), data.train, data.valid, TrainParams(epochs=2, batch_size=128, seed=5, threads=1)).valid


def test_the_projection_dose_probe_gives_the_projection_its_own_decay_and_nothing_else(data, monkeypatch):
    """benchmarks/fidelity/projection_wd (docs/models.md's dose-response): PROJ_WD moves the projection alone."""
    import importlib.util
    from pathlib import Path

    probe = Path(__file__).resolve().parents[1] / "benchmarks" / "fidelity" / "projection_wd" / "sitecustomize.py"
    monkeypatch.setattr(trainer, "split_param_groups", trainer.split_param_groups)  # undone after the test
    monkeypatch.setenv("PROJ_WD", "3e-7")
    spec = importlib.util.spec_from_file_location("projection_wd_probe", probe)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    model = tiny_din(data)
    groups = trainer.split_param_groups(model, embedding_reg=1e-6, net_reg=0.0, projection_reg="net")
    assert [g["weight_decay"] for g in groups] == [1e-6, 0.0, 0.0, 3e-7]
    assert groups[3]["params"] == [model.items.vec_proj.weight]
    every = [id(p) for g in groups for p in g["params"]]
    assert sorted(every) == sorted(id(p) for p in model.parameters() if p.requires_grad)
