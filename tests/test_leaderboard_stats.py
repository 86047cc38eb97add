"""Leaderboard: one row per combination (mean ± std over seeds, DeLong CI, paired p), chart, safe writers."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mmbench.components import ValidPredictions
from mmbench.leaderboard import store
from mmbench.leaderboard.render import render
from mmbench.leaderboard.summary import summarise
from mmbench.row import COLUMNS, Row
from mmbench.stats import delong


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
    from mmbench.metrics import auc
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
    shutil.copy(Path(__file__).resolve().parents[1] / "leaderboards" / "published.yaml", directory)
    _, md_path = render(directory, "fake")
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
        from mmbench.row import Row
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
    shutil.copy(Path(__file__).resolve().parents[1] / "leaderboards" / "published.yaml", tmp_path)
    store.record_row(tmp_path, run_row("r1", "enc", "none", "m", 1, 0.7))  # no oracle: real data
    summary, md_path = render(tmp_path, "fake")
    assert not summary.synthetic
    assert "shown for reference, apart from the measured rows" in md_path.read_text()
