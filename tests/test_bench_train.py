"""``mmbench bench train``'s comparison with the published Transformer_DCN: the arithmetic floor, the
files written for the published loader, and the argument errors (the run itself is a benchmark); a run
too short for its warm-up is refused up front, and a side with no timed step says so."""
import json

import numpy as np
import pandas as pd
import pytest

from mmbench.bench import workload
from mmbench.bench.train import render
from mmbench.bench.workload import StepClock
from mmbench.cli import main
from mmbench_zoo.transformer_dcn import flops
from mmbench_zoo.transformer_dcn.model import TransformerDCN, TransformerDCNParams


def test_floor_at_the_published_shapes():
    from mmbench.contract.params import params_to_dict

    p = params_to_dict(TransformerDCNParams())
    f = flops.transformer_dcn_flops(p, positions=10)
    assert f["gemm_width"] == 9088
    assert f["cross"] == 3 * 2 * 3 * 9088 ** 2  # 3 layers, 2 FLOPs per multiply-add, forward + backward
    assert f["cross"] / f["total"] > 0.8  # the full-rank cross layers dominate


def test_kept_positions_per_mask():
    seq = np.array([[1, 2, 3], [0, 0, 4], [0, 0, 0]])
    assert flops.mean_kept_positions(seq, "correct") == pytest.approx(4 / 3)
    # published: padding positions, plus the last position of the full row
    assert flops.mean_kept_positions(seq, "published") == pytest.approx((0 + 2 + 3 + 1) / 3)


def test_challenge_parquet_is_what_the_published_loader_reads(tmp_path):
    from fakes import make_fake_data

    data = make_fake_data(n_train=20, n_valid=10)
    vecs = data.items.load_shipped("", "")
    workload.save(tmp_path, data.train, data.valid, data.items, vecs, {})
    paths = workload.write_challenge_parquet(tmp_path, tmp_path / "out")
    train = pd.read_parquet(paths["train_data"])
    assert list(train.columns) == ["user_id", "item_seq", "likes_level", "views_level", "item_id", "label"]
    assert all(train[c].dtype == np.int64 for c in train.columns if c != "item_seq")  # one int64 array
    np.testing.assert_array_equal(np.array(train["item_seq"].to_list()), data.train.item_seq)
    info = pd.read_parquet(paths["item_info"])
    assert (info["item_id"].to_numpy() == np.arange(len(info))).all()  # the loader indexes rows by item id
    np.testing.assert_allclose(np.array(info["item_emb_d128"].to_list()), vecs)


@pytest.mark.parametrize("args, message", [
    ([], "needs --published-repo PATH"),
    (["--published-repo", "."], "src/Transformer_DCN.py is missing"),
])
def test_published_comparison_argument_errors(args, message, capsys):
    assert main(["bench", "train", "--vs", "published-transformer-dcn", *args]) != 0
    assert message in capsys.readouterr().err


def test_a_run_inside_its_warmup_is_refused_with_what_to_change(capsys):
    # tiny has 5,000 train rows: one epoch of batch 4096 is 2 optimizer steps, both inside 5 warm-up steps
    assert main(["bench", "train", "--model", "din", "--scale", "tiny", "--epochs", "1", "--batch-size", "4096", "--device", "cpu"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert ("this run makes 2 optimizer step(s) (1 epoch(s) x 2 batches of 4096 from 5,000 rows), all inside the 5 "
            "warm-up steps") in err
    assert "lower --warmup, add --epochs or use a smaller --batch-size" in err and "nan" not in err


def test_a_side_with_no_timed_step_says_not_timed():
    meta = {"dataset": "d", "train_rows": 10, "valid_rows": 5, "vector_source": "v", "warmup_steps": 5,
            "train": {"batch_size": 8, "epochs": 1}}
    timed = {"model": "din", "device": "cpu", "threads": 1, "samples_per_second": 123.0, "measured_steps": 4,
             "wall_seconds": 1.0, "peak_memory_mb": 10.0, "valid_auc": 0.7}
    untimed = {**timed, "model": "fuxictr", "samples_per_second": None, "measured_steps": 0}
    text = render(meta, [timed, untimed])
    line = next(line for line in text.splitlines() if line.startswith("fuxictr"))
    assert "not timed" in line and "nan" not in text.lower() and "ratio" not in text



def test_the_step_clock_reports_none_when_every_step_was_warm_up():
    clock = StepClock(warmup=5)
    clock.epoch_start()
    for _ in range(3):
        clock.tick(8)
    assert clock.samples_per_second() is None and json.dumps({"s": clock.samples_per_second()}) == '{"s": null}'
    for _ in range(3):
        clock.tick(8)
    assert clock.durations and clock.samples_per_second() > 0 and clock.samples == 8


def test_the_peers_are_the_ones_the_zoo_models_declare_and_a_wrong_one_is_one_line(capsys):
    from mmbench.bench.train import peers

    assert {name: owner for name, (owner, _) in peers().items()} == {
        "fuxictr": "din", "published-transformer-dcn": "transformer_dcn"}
    assert main(["bench", "train", "--vs", "fuxctr"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--vs fuxctr: no model declares it" in err and "did you mean 'fuxictr'" in err
    assert main(["bench", "train", "--scale", "tiny"]) == 2  # no config, no --model, no --vs: which model?
    assert "give --model NAME (models: attention_dnn, dcn, din, qin, transformer_dcn)" in capsys.readouterr().err


def test_the_flop_floor_comes_from_the_model_and_a_model_without_a_count_has_none():
    from mmbench.contract.params import params_to_dict
    from mmbench_zoo.din.model import DIN, DINParams

    seq = np.array([[0, 0, 4], [1, 2, 3]])
    params = params_to_dict(TransformerDCNParams())
    count = TransformerDCN.flop_count({**params, "mask": "correct"}, seq)  # 1 and 3 real items
    assert count["gemm_width"] == 9088 and count["note"] == "transformer over 2.0 positions per row"
    assert count["total"] == flops.transformer_dcn_flops(params, positions=2.0)["total"]
    assert DIN.flop_count(params_to_dict(DINParams()), seq) is None
