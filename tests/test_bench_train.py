"""``mmbench bench train``'s comparison with the published Transformer_DCN: the arithmetic floor, the
files written for the published loader, and the argument errors (the run itself is a benchmark)."""
import numpy as np
import pandas as pd
import pytest

from mmbench.bench import flops, workload
from mmbench.bench.published_transformer_dcn import write_challenge_parquet
from mmbench.cli import main
from mmbench_zoo.transformer_dcn.model import TransformerDCNParams


def test_floor_at_the_published_shapes():
    from mmbench.params import params_to_dict

    p = params_to_dict(TransformerDCNParams())
    f = flops.transformer_dcn_flops(p, positions=10)
    assert f["dcn_width"] == 9088
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
    paths = write_challenge_parquet(tmp_path, tmp_path / "out")
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
