"""``mmbench bench fidelity``: the authors' config resolved and edited (both layouts), FuxiCTR's log read
back per epoch, the statistics and verdicts, the argument errors, and a whole run against a fake
authors' repository whose run_expid.py prints FuxiCTR-style lines (no FuxiCTR needed)."""
import json
import math
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from mmbench.bench import authors_config, fidelity, fidelity_stats, fuxictr_log
from mmbench.cli import main
from mmbench.errors import ConfigError

DATASET = {"MicroLens_1M_x1": {
    "data_root": "./data/", "data_format": "parquet",
    "train_data": "./data/MicroLens_1M_x1/train.parquet", "valid_data": "./data/MicroLens_1M_x1/valid.parquet",
    "test_data": "./data/MicroLens_1M_x1/test.parquet", "item_info": "./data/MicroLens_1M_x1/item_info.parquet",
    "rebuild_dataset": False,
    "feature_cols": [{"name": "likes_level", "type": "categorical", "vocab_size": 11},
                     {"name": "item_id", "type": "categorical", "vocab_size": 91718, "source": "item"},
                     {"name": "item_tags", "type": "sequence", "vocab_size": 11740, "max_len": 5, "source": "item"},
                     {"name": "item_emb_d128", "type": "embedding", "embedding_dim": 128, "source": "item"}],
    "label_col": {"name": "label", "dtype": "float"}}}
DIN = {"model": "DIN", "dataset_id": "MicroLens_1M_x1", "learning_rate": 1e-3, "embedding_regularizer": 0,
       "net_regularizer": 0, "batch_size": 4096, "embedding_dim": 8, "dnn_hidden_units": [16],
       "attention_hidden_units": [8], "attention_hidden_activations": "Dice", "attention_dropout": 0.1,
       "din_use_softmax": False, "net_dropout": 0, "batch_norm": True, "epochs": 100, "seed": 20242025,
       "monitor": "AUC", "early_stop_patience": 3}

# prints what FuxiCTR 2.3.7's fit logs; checks the edits it was given (vocab = item_info's rows, paths exist)
FAKE_RUN_EXPID = textwrap.dedent('''
    import argparse, logging, os, sys
    import pyarrow.parquet as pq, yaml
    p = argparse.ArgumentParser(); p.add_argument("--config"); p.add_argument("--expid"); p.add_argument("--gpu")
    a = p.parse_args()
    params = yaml.safe_load(open(os.path.join(a.config, "model_config.yaml")))[a.expid]
    data = yaml.safe_load(open(os.path.join(a.config, "dataset_config.yaml")))[params["dataset_id"]]
    n_items = pq.read_metadata(data["item_info"]).num_rows
    vocab = {c["name"]: c.get("vocab_size") for c in data["feature_cols"]}
    assert vocab["item_id"] == n_items, (vocab, n_items)
    assert os.path.exists(data["train_data"]) and pq.read_metadata(data["test_data"]).num_rows > 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s P%(process)d INFO %(message)s")
    logging.info("Total number of parameters: 4242.")
    seed, best = params["seed"], 0
    for epoch in range(1, params["epochs"] + 1):
        logging.info("Train loss: %.6f" % (0.6 - 0.01 * epoch))
        auc = 0.5 + 0.01 * epoch + 0.001 * (seed % 7)
        best = max(best, auc)
        logging.info("[Metrics] AUC: %.6f - logloss: 0.550000" % auc)
    logging.info("****** Validation evaluation ******")
    logging.info("[Metrics] AUC: %.6f - logloss: 0.540000" % best)
''')


def make_repo(root: Path, layout: str) -> Path:
    repo = root / f"authors_{layout}"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "DIN.py").write_text("# the authors' model\n")
    (repo / "run_expid.py").write_text(FAKE_RUN_EXPID)
    if layout == "tuner":  # the challenge baseline: one tuner yaml over a template folder
        (repo / "config" / "din_config").mkdir(parents=True)
        (repo / "config" / "din_config" / "model_config.yaml").write_text(yaml.safe_dump(
            {"Base": {"num_workers": 3, "model_root": "./checkpoints/"}, "DIN_default": {**DIN, "dataset_id": "TBD"}}))
        (repo / "config" / "DIN_microlens_mmctr_tuner_config_01.yaml").write_text(yaml.safe_dump(
            {"base_config": "./config/din_config/", "base_expid": "DIN_default", "dataset_id": "MicroLens_1M_x1",
             "dataset_config": DATASET,
             "tuner_space": {"embedding_regularizer": [1e-6, 1e-7], "net_dropout": 0.1, "batch_size": 8192}}))
    else:  # the 1st place's layout: a folder with dataset_config.yaml and model_config.yaml of expids
        folder = repo / "config" / "DIN_microlens_mmctr_tuner_config_01"
        folder.mkdir(parents=True)
        (folder / "dataset_config.yaml").write_text(yaml.safe_dump(DATASET))
        (folder / "model_config.yaml").write_text(yaml.safe_dump(
            {"DIN_MicroLens_1M_x1_001_6c08feb7": {**DIN, "embedding_dim": 16, "batch_size": 128}}))
    return repo


def test_tuner_yaml_resolves_to_its_first_experiment(tmp_path):
    repo = make_repo(tmp_path, "tuner")
    cfg = authors_config.resolve(repo, "config/DIN_microlens_mmctr_tuner_config_01.yaml", None)
    assert cfg.params["embedding_regularizer"] == 1e-6  # first of the tuner_space list
    assert cfg.params["batch_size"] == 8192 and cfg.params["net_dropout"] == 0.1  # tuner scalars win
    assert cfg.params["num_workers"] == 3 and cfg.params["dataset_id"] == "MicroLens_1M_x1"  # Base kept


def test_folder_config_resolves_and_an_unknown_expid_names_the_ones_there(tmp_path):
    repo = make_repo(tmp_path, "folder")
    cfg = authors_config.resolve(repo, "config/DIN_microlens_mmctr_tuner_config_01", None)
    assert cfg.params["embedding_dim"] == 16 and cfg.dataset["item_info"].endswith("item_info.parquet")
    with pytest.raises(ConfigError, match="no experiment 'nope'.*DIN_MicroLens_1M_x1_001_6c08feb7"):
        authors_config.resolve(repo, "config/DIN_microlens_mmctr_tuner_config_01", "nope")


def test_edits_touch_only_paths_vocab_epochs_seed_batch(tmp_path):
    repo = make_repo(tmp_path, "folder")
    cfg = authors_config.resolve(repo, "config/DIN_microlens_mmctr_tuner_config_01", None)
    data = tmp_path / "d" / "MicroLens_1M_x1"
    data.mkdir(parents=True)
    for f in ("train", "valid", "item_info"):
        (data / f"{f}.parquet").write_bytes(b"")  # no test.parquet: its path becomes None
    model, dataset = authors_config.edited(cfg, data, tmp_path / "ck", {"item_id": 300, "item_tags": 40}, 4, 7,
                                           None, None, None)
    p = model[authors_config.EXPID]
    changed = {k for k in p if p[k] != cfg.params.get(k)}
    assert changed == {"epochs", "seed", "model_root"}
    assert (p["epochs"], p["seed"], p["batch_size"]) == (4, 7, 128)
    d = dataset["MicroLens_1M_x1"]
    assert d["train_data"] == str(data / "train.parquet") and d["test_data"] is None
    assert {c["name"]: c["vocab_size"] for c in d["feature_cols"] if "vocab_size" in c} == \
        {"likes_level": 11, "item_id": 300, "item_tags": 40}


def test_fuxictr_log_is_read_per_epoch():
    text = textwrap.dedent("""\
        2025-01-01 INFO Total number of parameters: 3262594.
        2025-01-01 INFO Start training: 15 batches/epoch
        2025-01-01 INFO Train loss: 0.561234
        2025-01-01 INFO [Metrics] AUC: 0.612345
        2025-01-01 INFO Save best model: monitor(max)=0.612345
        2025-01-01 INFO Train loss: 0.501000
        2025-01-01 INFO [Metrics] AUC: 0.600000 - logloss: 0.530000
        2025-01-01 INFO Monitor(max)=0.600000 STOP!
        2025-01-01 INFO ****** Validation evaluation ******
        2025-01-01 INFO [Metrics] gAUC: 0.550000 - AUC: 0.612345 - logloss: 0.520000
        """)
    log = fuxictr_log.parse(text)
    assert log.n_params == 3262594
    assert log.train_loss == [0.561234, 0.501]
    assert [m["AUC"] for m in log.valid] == [0.612345, 0.6]
    assert log.valid[1]["logloss"] == 0.53
    assert log.final == {"gAUC": 0.55, "AUC": 0.612345, "logloss": 0.52}


def test_welch_interval_and_verdicts():
    a, b = fidelity_stats.describe([0.60, 0.62, 0.64]), fidelity_stats.describe([0.61, 0.63, 0.65])
    low, high = fidelity_stats.welch_ci(a, b)
    # equal sds and n: df = 4, t = 2.776, se = 0.02 * sqrt(2/3)
    half = 2.7764451 * 0.02 * math.sqrt(2 / 3)
    assert (low, high) == pytest.approx((-0.01 - half, -0.01 + half), abs=1e-6)
    cmp = fidelity_stats.compare([[0.6, 0.7], [0.61], [0.62]], [[0.601, 0.5], [0.611, 0.52], [0.621, 0.51]])
    assert [c.verdict for c in cmp] == ["same", "n/a"]  # epoch 2: the zoo has one seed there
    assert cmp[1].a.n == 1 and cmp[1].b.n == 3
    cmp = fidelity_stats.compare([[0.70], [0.71], [0.72]], [[0.60], [0.61], [0.62]])
    assert cmp[0].verdict == "differs" and cmp[0].delta == pytest.approx(0.1)
    # inside the CI but beyond 0.01 is not "same"
    assert fidelity_stats.verdict(0.02, -0.01, 0.05) == "differs"


@pytest.mark.parametrize("extra, message", [
    (["--authors-repo", "/nonexistent"], "no such folder"),
    (["--authors-repo", "."], "run_expid.py is missing"),
])
def test_wrong_repo_is_one_line(extra, message, capsys):
    assert main(["bench", "fidelity", "--pair", "din", "--authors-python", sys.executable, *extra]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_the_quant_pair_says_why_it_is_not_comparable(tmp_path, capsys):
    repo = tmp_path / "rk1"
    (repo / "src").mkdir(parents=True)
    (repo / "run_expid.py").write_text("")
    (repo / "src" / "Transformer_DCN_Quant.py").write_text("")
    (repo / "config" / "Transformer_DCN_Quant_microlens_mmctr_tuner_config_01").mkdir(parents=True)
    assert main(["bench", "fidelity", "--pair", "transformer_dcn_quant", "--authors-repo", str(repo),
                 "--authors-python", sys.executable]) != 0
    err = capsys.readouterr().err.strip()
    assert "not comparable" in err and "top_k=10" in err and len(err.splitlines()) == 1


def test_wrong_pair_and_wrong_python_are_one_line(tmp_path, capsys):
    repo = make_repo(tmp_path, "tuner")
    # a DIN repository given for QIN
    assert main(["bench", "fidelity", "--pair", "qin", "--authors-repo", str(repo),
                 "--authors-python", sys.executable]) != 0
    assert "src/QIN_variety_v9.py is missing, so it is not the QIN_variety_v9 code" in capsys.readouterr().err
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo),
                 "--authors-python", str(tmp_path / "nopython")]) != 0
    err = capsys.readouterr().err.strip()
    assert "--authors-python" in err and "not an executable" in err and len(err.splitlines()) == 1
    # an unknown zoo param is named before anything runs
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python",
                 sys.executable, "--zoo-set", "atention_padding_stats=true"]) != 0
    err = capsys.readouterr().err.strip()
    assert "atention_padding_stats" in err and len(err.splitlines()) == 1
    # so is an unknown or out-of-range zoo train setting
    for bad, named in (("train.projection_rg=net", "projection_rg"), ("train.projection_reg=both", "projection_reg")):
        assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python",
                     sys.executable, "--zoo-set", bad]) != 0
        err = capsys.readouterr().err.strip()
        assert named in err and "--zoo-set (train)" in err and len(err.splitlines()) == 1
    # an interpreter without FuxiCTR (this one) is refused with what to install
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo),
                 "--authors-python", sys.executable]) != 0
    assert "cannot import fuxictr" in capsys.readouterr().err


def test_a_whole_run_against_a_fake_authors_repo(tmp_path, tiny_root, monkeypatch, capsys):
    repo = make_repo(tmp_path, "tuner")
    monkeypatch.setattr(fidelity, "check_python", lambda python: sys.executable)  # the fake needs no FuxiCTR
    out = tmp_path / "res" / "din.json"
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python", "x",
                 "--root", str(tiny_root), "--seeds", "1", "2", "--epochs", "2", "--patience", "2",
                 "--batch-size", "256", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "DIN" in printed and "verdict" in printed and "4,242" in printed
    res = json.loads(out.read_text())
    assert [r["seed"] for r in res["authors"]] == [1, 2]
    assert res["authors"][1]["valid_auc"] == [0.512, 0.522]  # seed 2 reached the fake's run_expid
    assert res["authors"][0]["train_logloss"] == [0.59, 0.58]
    assert all(len(r["valid_auc"]) == 2 and r["n_params"] > 0 for r in res["zoo"])
    assert res["meta"]["model_params"]["vector_bias"] is False and res["meta"]["batch_size"] == 256
    assert [e["epoch"] for e in res["epochs"]] == [1, 2] and res["epochs"][0]["authors_n"] == 2
    assert not list(out.parent.glob(".*tmp"))  # written atomically
    md = fidelity.render_markdown(res)  # the docs table, regenerated from the saved JSON
    assert md.count("\n| 1 |") == 1 and "| authors | " in md and "4,242" in md


def test_a_run_stopped_part_way_keeps_the_seeds_it_finished(tmp_path, tiny_root, monkeypatch, capsys):
    repo = make_repo(tmp_path, "tuner")
    monkeypatch.setattr(fidelity, "check_python", lambda python: sys.executable)
    real_authors_side = fidelity.run_authors_side

    def fails_on_seed_2(python, repo, folder, cfg, meta, seed, args, timeout):
        if seed == 2:
            raise fidelity.MMBenchError("the authors' run_expid.py failed (seed 2, exit 1)")
        return real_authors_side(python, repo, folder, cfg, meta, seed, args, timeout)

    monkeypatch.setattr(fidelity, "run_authors_side", fails_on_seed_2)
    out = tmp_path / "din.json"
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python", "x",
                 "--root", str(tiny_root), "--seeds", "1", "2", "--epochs", "2", "--patience", "2",
                 "--batch-size", "256", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "seed 1: authors' valid AUC by epoch 0.5110, 0.5210" in err  # one progress line per side and seed
    assert f"(the 1 seed(s) finished before it are in {out})" in err
    res = json.loads(out.read_text())
    assert [r["seed"] for r in res["authors"]] == [1] and [r["seed"] for r in res["zoo"]] == [1]
    assert res["meta"]["seeds_done"] == 1 and res["meta"]["seeds"] == [1, 2]


def test_resume_adds_seeds_to_a_saved_comparison_and_refuses_another(tmp_path, tiny_root, monkeypatch, capsys):
    repo = make_repo(tmp_path, "tuner")
    monkeypatch.setattr(fidelity, "check_python", lambda python: sys.executable)
    out = tmp_path / "din.json"
    base = ["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python", "x",
            "--root", str(tiny_root), "--epochs", "2", "--patience", "2", "--batch-size", "256", "--out", str(out)]
    assert main([*base, "--seeds", "1"]) == 0
    first = json.loads(out.read_text())
    capsys.readouterr()
    assert main([*base, "--seeds", "1", "2", "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"seed 1: in {out} already (--resume)" in err and "seed 1: zoo" not in err and "seed 2: zoo" in err
    res = json.loads(out.read_text())
    assert [r["seed"] for r in res["zoo"]] == [1, 2] and res["zoo"][0] == first["zoo"][0]
    assert res["meta"]["seeds"] == [1, 2] and res["epochs"][0]["zoo_n"] == 2
    # another comparison in the same file is refused in one line, naming what differs
    assert main([*base[:-4], "--batch-size", "128", "--out", str(out), "--seeds", "3", "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "measured another comparison: batch_size 256 (now 128)" in err
    assert main([*base[:-2], "--seeds", "3", "--resume"]) == 2  # no --out to resume from
    assert "--resume continues the seeds saved in --out" in capsys.readouterr().err
    # the zoo's train.rng is part of the comparison: shared draws would mix two protocols in one file
    assert res["meta"]["zoo_rng"] == "split"
    assert main([*base, "--seeds", "3", "--zoo-rng", "shared", "--resume"]) == 2
    assert "zoo_rng 'split' (now 'shared')" in capsys.readouterr().err


def test_the_pairs_are_the_ones_the_zoo_models_declare(capsys):
    from mmbench.bench.fidelity_pairs import pairs

    found = {name: pair.zoo_model for name, pair in pairs().items()}
    assert found == {"din": "din", "qin": "qin", "transformer_dcn": "transformer_dcn",
                     "transformer_dcn_quant": "transformer_dcn"}
    assert main(["bench", "fidelity", "--pair", "dinn", "--authors-repo", ".", "--authors-python", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--pair dinn: no model declares it" in err and "did you mean 'din'" in err


def test_authors_runs_are_reused_for_another_zoo_setting_and_refused_for_other_data(tmp_path, tiny_root, monkeypatch,
                                                                                     capsys):
    repo = make_repo(tmp_path, "tuner")
    monkeypatch.setattr(fidelity, "check_python", lambda python: sys.executable)
    split, shared = tmp_path / "split.json", tmp_path / "shared.json"
    base = ["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python", "x",
            "--root", str(tiny_root), "--epochs", "2", "--patience", "2", "--batch-size", "256"]
    assert main([*base, "--seeds", "1", "--out", str(split)]) == 0
    first = json.loads(split.read_text())

    def never(*args):
        raise AssertionError("the authors' side ran again")

    monkeypatch.setattr(fidelity, "run_authors_side", never)
    assert main([*base, "--seeds", "1", "--zoo-rng", "shared", "--authors-from", str(split), "--out", str(shared)]) == 0
    assert f"seed 1: authors' DIN from {split}" in capsys.readouterr().err
    res = json.loads(shared.read_text())
    assert res["authors"] == first["authors"] and res["meta"]["zoo_rng"] == "shared"
    assert res["meta"]["authors_from"] == str(split)
    assert res["zoo"][0]["valid_auc"] != first["zoo"][0]["valid_auc"]  # the zoo trained with the other stream
    # other rows: the saved authors' runs do not apply, said in one line
    assert main([*base[:-2], "--batch-size", "128", "--seeds", "1", "--authors-from", str(split)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "its authors' runs had other settings: batch_size 256 (now 128)" in err


def test_zoo_set_train_key_changes_the_zoo_sides_train_settings_only(tmp_path, tiny_root, monkeypatch):
    repo = make_repo(tmp_path, "tuner")
    monkeypatch.setattr(fidelity, "check_python", lambda python: sys.executable)
    seen = []

    def zoo_side(folder, meta, model_params, train, timeout):
        seen.append((model_params, train))
        return {"seed": train["seed"], "valid_auc": [0.6], "train_logloss": [0.5], "samples_per_second": 1.0,
                "peak_memory_mb": 1.0, "n_params": 1, "best_valid_auc": 0.6}

    monkeypatch.setattr(fidelity, "run_zoo_side", zoo_side)
    out = tmp_path / "din.json"
    assert main(["bench", "fidelity", "--pair", "din", "--authors-repo", str(repo), "--authors-python", "x",
                 "--root", str(tiny_root), "--seeds", "1", "--epochs", "1", "--batch-size", "256",
                 "--zoo-set", "train.projection_reg=net", "--zoo-set", "vector_bias=true", "--out", str(out)]) == 0
    (model_params, train), = seen
    assert train["projection_reg"] == "net" and model_params["vector_bias"] is True
    assert "projection_reg" not in model_params and train["loss"] == "sigmoid"  # the pair's other settings stay
    note = json.loads(out.read_text())["meta"]["zoo_params_note"]
    assert "train.projection_reg=net" in note and "vector_bias=True" in note
