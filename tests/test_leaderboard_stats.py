"""Leaderboard: one row per combination (mean ± std over seeds, DeLong CI, paired p), chart, safe writers."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mmbench.contract.components import ValidPredictions
from mmbench.errors import MMBenchError, MMBenchNote
from mmbench.leaderboard import store
from mmbench.leaderboard.render import render
from mmbench.leaderboard.summary import Combination, find_combination, summarise
from mmbench.run.row import COLUMNS, Row
from mmbench.report.stats import delong


def run_row(h, encoder, reducer, model, seed, auc, dim=None, **values) -> Row:
    cfg = {"dataset": {"name": "fake"}, "encoder": {"name": encoder}, "model": {"name": model},
           "reducer": {"name": reducer, **({"dim": dim} if dim else {})}, "train": {"seed": seed, "lr": 0.01}}
    return Row(dataset="fake", encoder=encoder, reducer=reducer, model=model, seed=seed, valid_auc=auc,
               valid_logloss=0.5, valid_gauc=auc, epochs=1, train_seconds=1.0, config_hash=h,
               config=json.dumps(cfg), **values)


@pytest.fixture
def board(tmp_path):
    """Two combinations x 2 seeds with saved predictions: 'strong' clearly beats 'weak'."""
    rng = np.random.default_rng(0)
    labels = (rng.random(2000) < 0.3).astype(np.float32)
    preds = {}
    for h, strength, seed in [("s1", 1.5, 1), ("s2", 1.5, 2), ("w1", 0.5, 1), ("w2", 0.5, 2)]:
        preds[h] = 1 / (1 + np.exp(-(strength * labels + rng.standard_normal(2000))))
    from mmbench.run.metrics import auc
    synthetic = {"oracle_auc": 0.9}  # rows of synthetic data carry its oracle
    for h, seed in [("s1", 1), ("s2", 2)]:
        row = run_row(h, "enc", "pca", "m", seed, auc(labels, preds[h]), dim=4, **synthetic)
        store.record_row(tmp_path, row, ValidPredictions(preds[h], labels))
    for h, seed in [("w1", 1), ("w2", 2)]:
        row = run_row(h, "enc", "none", "m", seed, auc(labels, preds[h]), **synthetic)
        store.record_row(tmp_path, row, ValidPredictions(preds[h], labels))
    failed = run_row("f1", "enc", "none", "broken", 1, float("nan"), status="failed", error="RuntimeError: boom")
    store.record_row(tmp_path, failed)
    return tmp_path, labels, preds


def test_summary_mean_std_ci_and_paired_p(board):
    directory, labels, preds = board
    rows = store.read_rows(directory / "fake.csv")
    summary = summarise(rows, "fake", directory, reference="enc/none/m")
    strong, weak = summary.combinations
    assert (strong.reducer_label, weak.reducer_label) == ("pca-4", "none") and weak.is_reference
    aucs, cov = delong(labels, np.stack([preds[h] for h in ("s1", "s2")]))
    assert strong.mean == pytest.approx(aucs.mean(), abs=1e-6)
    assert strong.std == pytest.approx(np.std(aucs, ddof=1), abs=1e-6)
    half = 1.959964 * np.sqrt(cov.sum() / 4)
    assert strong.ci == pytest.approx((aucs.mean() - half, aucs.mean() + half), abs=1e-5)
    assert strong.delta > 0.1 and strong.p_value < 1e-6 and weak.p_value is None
    assert [r["config_hash"] for r in summary.failed] == ["f1"]
    # choosing the reference by a run's config hash gives the same combination
    assert summarise(rows, "fake", directory, reference="w2").reference.key == weak.key


def test_markdown_and_chart(board):
    directory, _, _ = board
    _, md_path = render(directory, "fake")  # published results ship with the package: no file in the folder
    md = md_path.read_text()
    strong_line = next(line for line in md.splitlines() if "| pca-4 |" in line)
    assert "± " in strong_line and "★" in strong_line  # default reference: the best combination
    weak_line = next(line for line in md.splitlines() if line.startswith("| 2 |"))
    assert "< 1e-4" in weak_line and "[0." in weak_line
    assert "## Failed runs" in md and "RuntimeError: boom" in md
    published = md[md.index("## Published results"):]
    assert "(not measured by mmbench)" in md and "*(published)*" not in md[:md.index("## Published results")]
    assert "not comparable with synthetic data" in published and "| 0.8655 |" in published
    png = directory / "fake.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_record_row_is_exactly_once(tmp_path):
    row = run_row("h1", "e", "none", "m", 1, 0.7)
    assert store.record_row(tmp_path, row) is True
    assert store.record_row(tmp_path, run_row("h1", "e", "none", "m", 1, 0.9)) is False
    rows = store.read_rows(tmp_path / "fake.csv")
    assert len(rows) == 1 and float(rows[0]["valid_auc"]) == 0.7


def test_concurrent_writers_never_lose_or_damage_rows(tmp_path):
    script = textwrap.dedent(f"""
        import json, pathlib, sys, time
        from mmbench.leaderboard import store
        from mmbench.run.row import Row
        w = int(sys.argv[1])
        ready = pathlib.Path({str(tmp_path)!r}) / "ready"
        ready.mkdir(exist_ok=True)
        (ready / str(w)).touch()
        while len(list(ready.iterdir())) < 4:  # start together, so that the appends really overlap
            time.sleep(0.01)
        for i in range(15):
            cfg = json.dumps({{"train": {{"seed": i}}, "model": {{"name": "m{{}}".format(w)}}}})
            store.append_row({str(tmp_path)!r}, Row(dataset="fake", encoder="e", reducer="none",
                model="m%d" % w, seed=i, valid_auc=0.5 + w / 100 + i / 1000, status="ok",
                config_hash="w%d-%d" % (w, i), config=cfg))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(w)]) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    rows = store.read_rows(tmp_path / "fake.csv")
    assert sorted(r["config_hash"] for r in rows) == sorted(f"w{w}-{i}" for w in range(4) for i in range(15))
    assert all(r["valid_auc"] and r["status"] == "ok" for r in rows)
    lines = (tmp_path / "fake.csv").read_text().splitlines()
    assert len(lines) == 61 and all(line.count(",") >= len(COLUMNS) - 1 for line in lines)


def test_the_leaderboard_command_reads_only_and_renders_on_request(board, capsys):
    from mmbench import cli

    directory, _, _ = board
    before = sorted(p.name for p in directory.iterdir())
    for fmt in ("table", "md", "csv", "json"):
        assert cli.main(["leaderboard", "--leaderboard-dir", str(directory), "--format", fmt]) == 0
    assert sorted(p.name for p in directory.iterdir()) == before  # nothing written
    out = capsys.readouterr().out
    assert "# Leaderboard: fake" in out and "pca-4" in out
    assert cli.main(["leaderboard", "--leaderboard-dir", str(directory), "--render"]) == 0
    assert (directory / "fake.md").exists() and (directory / "fake.png").exists()


def test_real_data_shows_published_results_beside_measured_rows(tmp_path):
    store.record_row(tmp_path, run_row("r1", "enc", "none", "m", 1, 0.7))  # no oracle: real data
    summary, md_path = render(tmp_path, "fake")
    assert not summary.synthetic
    assert "shown for reference, apart from the measured rows" in md_path.read_text()


def test_published_results_ship_with_the_package_and_a_folder_file_adds_or_overrides(tmp_path):
    from mmbench.leaderboard.summary import load_published

    shipped = {p["system"]: p for p in load_published(tmp_path, "fake")}
    assert shipped["Official challenge baseline"]["valid_auc"] == 0.8655 and len(shipped) >= 7
    (tmp_path / "published.yaml").write_text(
        "results:\n  - {system: Official challenge baseline, description: re-checked, valid_auc: 0.8656, source: x, tasks: [1, 2]}\n"
        "  - {system: My lab, description: ours, valid_auc: 0.9, source: y, tasks: [1]}\n")
    local = {p["system"]: p for p in load_published(tmp_path, "fake")}
    assert local["Official challenge baseline"]["valid_auc"] == 0.8656 and "My lab" not in local  # a Task-1 entry
    assert len(local) == len(shipped)
    task1 = [p["system"] for p in load_published(tmp_path, "fake-task1")]
    assert task1 == ["Official challenge baseline", "My lab"]  # the Task-1 board: the fixed-DIN numbers only
    (tmp_path / "published.yaml").write_text("results: [1, 2]\n")  # the folder's file is broken: the shipped ones stay
    with pytest.warns(MMBenchNote, match="2 of 2 result"):
        assert [p["system"] for p in load_published(tmp_path, "fake")] == list(shipped)


def test_reference_by_prefix_and_ambiguous_references_are_refused(board):
    directory, _, _ = board
    rows = store.read_rows(directory / "fake.csv")
    weak = summarise(rows, "fake", directory, reference="w2").reference
    key = weak.key
    assert summarise(rows, "fake", directory, reference=key[:5]).reference.key == key  # combination key prefix
    # two combinations 'enc / none / m' that differ by a hyper-parameter: the label names both
    lr_row = run_row("x1", "enc", "none", "m", 1, 0.6)
    cfg = json.loads(lr_row.config)
    cfg["train"]["lr"] = 0.1
    lr_row.config = json.dumps(cfg)
    store.record_row(directory, lr_row)
    rows = store.read_rows(directory / "fake.csv")
    with pytest.raises(MMBenchError, match=r"'enc/none/m' matches 2 combinations of fake: .*give one of these"):
        summarise(rows, "fake", directory, reference="enc/none/m")
    assert summarise(rows, "fake", directory, reference=key).reference.key == key
    # a prefix two keys share is ambiguous too; a run's config hash prefix names its combination
    combos = [Combination("ab12", "e", "none", "m", {}, [{"config_hash": "77aa"}]),
              Combination("ab34", "e", "pca", "m", {}, [{"config_hash": "88bb"}])]
    with pytest.raises(MMBenchError, match=r"'ab' matches 2 combinations of fake: ab12 \(e / none / m\); ab34"):
        find_combination(combos, "ab", "fake")
    assert find_combination(combos, "ab3").key == "ab34" and find_combination(combos, "88").key == "ab34"
    with pytest.raises(MMBenchError, match="matches no combination"):
        summarise(rows, "fake", directory, reference="zz/none/m")


def test_json_leaderboard_writes_null_for_missing_numbers(board, capsys):
    from mmbench import cli

    directory, _, _ = board
    store.record_row(directory, run_row("n1", "enc", "pca", "m", 1, 0.61, dim=8))  # no saved predictions: no CI
    assert cli.main(["leaderboard", "--leaderboard-dir", str(directory), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    single = next(c for c in out["combinations"] if c["reducer"] == "pca-8")
    assert single["valid_auc_std"] is None and single["ci95_low"] is None and single["p_value"] is None
    assert single["valid_auc_mean"] == 0.61
    failed = out["failed"][0]
    assert failed["valid_auc"] is None and failed["seed"] == 1 and failed["error"] == "RuntimeError: boom"
    assert cli.main(["leaderboard", "--leaderboard-dir", str(directory), "--format", "json", "--runs"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert all(r["oracle_auc"] is None or isinstance(r["oracle_auc"], float) for r in runs)
    assert runs[0]["epochs"] == 1 and runs[0]["missing_images"] is None and runs[0]["device"] == ""
    assert "\"\"" not in json.dumps([{k: v for k, v in r.items() if k in store.NUMBER_COLUMNS} for r in runs])


def test_the_table_shows_names_with_rich_markup_as_text(tmp_path, capsys, monkeypatch):
    from mmbench.cli import main

    monkeypatch.setenv("COLUMNS", "300")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    for seed in (1, 2):
        row = Row(dataset="d", encoder="[red]enc[/red]", reducer="pca", model="[bold]m", seed=seed,
                  valid_auc=0.7, config_hash=f"{seed:012d}", status="ok")
        store.append_row(tmp_path, row, ValidPredictions(rng.random(200), labels))
    assert main(["leaderboard", "--leaderboard-dir", str(tmp_path), "--dataset", "d"]) == 0
    out = capsys.readouterr().out
    assert "[red]enc[/red]" in out and "[bold]m" in out


def test_a_parameter_a_run_did_not_record_is_not_shown_in_its_variant(tmp_path):
    """Runs recorded before a parameter existed (or at its added-later default) do not record it: the
    variant names it only for the combination that set it."""
    plain = run_row("p1", "enc", "none", "m", 1, 0.6)
    dropped = run_row("d1", "enc", "none", "m", 1, 0.7)
    cfg = json.loads(dropped.config)
    cfg["model"]["id_dropout"] = 0.5
    dropped.config = json.dumps(cfg)
    for row in (plain, dropped):
        store.record_row(tmp_path, row)
    combos = summarise(store.read_rows(tmp_path / "fake.csv"), "fake", tmp_path).combinations
    assert sorted(c.label for c in combos) == ["enc / none / m", "enc / none / m [model.id_dropout=0.5]"]


def test_the_default_reference_is_the_baseline_setting_not_any_precomputed_pca_din(tmp_path):
    def row(h, columns, dim, auc, **model):
        r = run_row(h, "precomputed", "pca", "din", 1, auc, dim=dim)
        cfg = json.loads(r.config)
        cfg["encoder"]["columns"] = columns
        cfg["model"].update(model)
        r.config = json.dumps(cfg)
        return r

    both = ["txt_emb_BERT", "img_emb_CLIPRN50"]
    for r in (row("covers", ["img_emb_CLIPRN50"], 64, 0.80), row("base", both, 128, 0.70),
              row("option", both, 128, 0.75, item_tags=False)):
        store.record_row(tmp_path, r)
    summary = summarise(store.read_rows(tmp_path / "fake.csv"), "fake", tmp_path)
    assert summary.reference.runs[0]["config_hash"] == "base"


def _nested(flat: dict) -> dict:
    """A flat resolved setting (baselines.yaml) as a row's nested config; lists are JSON there."""
    out: dict = {}
    for key, value in flat.items():
        section, name = key.split(".", 1)
        if isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        out.setdefault(section, {})[name] = value
    return out


def _baseline_row(h, seed=20242025, **changes):
    from mmbench.leaderboard.summary import baseline_settings

    cfg = _nested(baseline_settings()["configs/baseline_din.yaml"])
    cfg["dataset"] = {"name": "microlens_1m_synth", "scale": "tiny"}
    cfg["train"].update(seed=seed, device="cpu", threads=2)  # keys that tune nothing
    for key, value in changes.items():
        section, name = key.split(".")
        cfg[section][name] = value
    r = run_row(h, "precomputed", "pca", "din", seed, 0.7, dim=cfg["reducer"]["dim"])
    r.config = json.dumps(cfg)
    return r


def test_the_baseline_label_needs_the_baselines_whole_setting(tmp_path):
    """A narrowed din (pca-32, 2 epochs) is the board's precomputed/pca/din reference, labelled by what it
    is; a run with the baseline config's every setting (seed, device, data apart) is the baseline."""
    store.record_row(tmp_path, _baseline_row("narrow", **{"reducer.dim": 32, "train.epochs": 2}))
    summary = summarise(store.read_rows(tmp_path / "fake.csv"), "fake", tmp_path)
    assert summary.reference.runs[0]["config_hash"] == "narrow"
    assert "baseline's setting" not in summary.reference_reason
    assert summary.reference_reason == (
        "the board's precomputed/pca/din combination closest to the official challenge baseline, not its setting: "
        "it differs from configs/baseline_din.yaml in reducer.dim 32 (baseline: 128), train.epochs 2 (baseline: 100)")

    store.record_row(tmp_path, _baseline_row("base", seed=3))
    summary = summarise(store.read_rows(tmp_path / "fake.csv"), "fake", tmp_path)
    assert summary.reference.runs[0]["config_hash"] == "base"
    assert summary.reference_reason == "the official challenge baseline's setting (configs/baseline_din.yaml)"


def test_the_shipped_baseline_settings_are_the_configs_resolved():
    """mmbench/leaderboard/baselines.yaml ships with the package (configs/ does not); it must stay the two
    baseline configs resolved against today's plugins."""
    from pathlib import Path

    import yaml

    from mmbench.run import config, pipeline
    from mmbench.leaderboard.summary import _flat, baseline_settings, comparable
    from mmbench.contract.registry import default_registry

    root = Path(__file__).resolve().parents[1]
    expected = {}
    for path in ("configs/baseline_din.yaml", "configs/published/official_baseline.yaml"):
        resolved = pipeline.resolve(config.load(str(root / path), []), default_registry())
        expected[path] = dict(sorted(comparable(_flat(resolved.as_dict())).items()))
    assert baseline_settings() == expected, (
        "mmbench/leaderboard/baselines.yaml is stale; its body should read:\n"
        + yaml.safe_dump(expected, sort_keys=False, width=200))


@pytest.mark.parametrize("reducer, params, label", [
    ("pca", {"dim": 64}, "pca-64"),
    ("rq", {"levels": 3, "codes": 64, "vectors": "input"}, "rq-3x64"),
    ("vq", {"groups": 8, "codes": 256}, "vq-8x256"),
    ("vq", {"codes": 32}, "vq-1x32"),
    ("none", {}, "none"),
])
def test_reducer_labels_show_their_size_and_leave_the_hash_alone(tmp_path, reducer, params, label):
    r = run_row("h1", "enc", reducer, "m", 1, 0.7)
    cfg = json.loads(r.config)
    cfg["reducer"].update(params)
    r.config = json.dumps(cfg)
    store.record_row(tmp_path, r)
    rows = store.read_rows(tmp_path / "fake.csv")
    (combo,) = summarise(rows, "fake", tmp_path).combinations
    assert combo.reducer_label == label and combo.label == f"enc / {label} / m"
    assert rows[0]["config_hash"] == "h1"


def test_a_run_is_shown_beside_the_committed_boards_best(monkeypatch, tmp_path):
    """From a checkout, a run on a dataset with a committed board prints that board's best row for scale
    (the quickstart: world-2 small); without a committed board (an installed wheel) nothing is said."""
    from rich.console import Console

    from mmbench.commands.run import summary_table

    path, best = store.committed_best("microlens_1m_synth-w2-small-s0")
    assert path == store.COMMITTED_DIR / "microlens_1m_synth-w2-small-s0.csv"
    rows = [r for r in store.read_rows(path) if store.is_ok(r)]
    assert float(best["valid_auc"]) == max(float(r["valid_auc"]) for r in rows)
    row = Row(dataset="microlens_1m_synth-w2-small-s0", encoder="text", reducer="pca", model="din", seed=1,
              valid_auc=0.70, valid_logloss=0.5, valid_gauc=0.7, epochs=2, best_epoch=2, train_seconds=1.0,
              oracle_auc=0.9758, params=10, config_hash="abc", encode_seconds=0.5, samples_per_second=100.0,
              device="cpu")
    console = Console(width=250, record=True)
    console.print(summary_table(row, cache_hit=False))
    text = console.export_text()
    share = (float(best["valid_auc"]) - 0.5) / (0.9758 - 0.5)
    label = f"{best['encoder']} / {best['reducer']} / {best['model']}, {best['epochs']} epochs"
    assert f"committed best │ {float(best['valid_auc']):.4f}  ({label}, {share:.0%}" in text
    monkeypatch.setattr(store, "COMMITTED_DIR", tmp_path)
    assert store.committed_best("microlens_1m_synth-w2-small-s0") is None
    console = Console(width=250, record=True)
    console.print(summary_table(row, cache_hit=False))
    assert "committed best" not in console.export_text()
