"""``mmbench leaderboard --format html``: a self-contained page per dataset, checked in a real headless
Chromium (sorting, filtering, error bars, per-seed runs, configs, re-referencing)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from mmbench.report import html_report
from mmbench.files.cache import content_key
from mmbench.cli import main
from mmbench.contract.components import ValidPredictions
from mmbench.leaderboard import store
from mmbench.leaderboard.summary import combination_key, load_published, summarise
from mmbench.leaderboard.trials import trial_view
from mmbench.run.metrics import auc
from mmbench.run.row import Row

DATASET = "microlens_1m_synth-tiny-s0"
#: the Task-2 results that ship with mmbench (mmbench/leaderboard/published.yaml): every page shows them
N_PUBLISHED = len(load_published(Path("/nonexistent"), DATASET))

# (encoder, model, signal strength, seeds, study, trial, lr)
RUNS = [
    ("text", "din", 1.6, [1, 2, 3], "", "", 0.001),
    ("text", "dcn", 1.2, [1, 2], "", "", 0.001),
    ("random", "din", 0.9, [1, 2], "", "", 0.001),
    ("random", "dcn", 0.5, [1, 2], "", "", 0.001),
    ("text", "din", 1.0, [7], "lr_search", 0, 0.01),   # three trials of one study; trial 2 is its best
    ("text", "din", 1.3, [7], "lr_search", 1, 0.003),
    ("text", "din", 1.8, [7], "lr_search", 2, 0.0005),
]


def _row(encoder, model, seed, value, study, trial, lr, probs_auc):
    config = {"dataset": {"name": "microlens_1m_synth", "scale": "tiny", "seed": 0},
              "encoder": {"name": encoder}, "reducer": {"name": "pca", "dim": 32},
              "model": {"name": model, "embedding_dim": 16}, "train": {"seed": seed, "lr": lr, "epochs": 3}}
    return {"timestamp": f"2026-01-0{1 + seed % 9}T10:00:00", "dataset": DATASET, "encoder": encoder,
            "reducer": "pca", "model": model, "seed": seed, "valid_auc": probs_auc, "valid_logloss": 0.5 - value / 10,
            "valid_gauc": probs_auc - 0.01, "epochs": 3, "best_epoch": 2, "encode_seconds": 1.5,
            "train_seconds": 10.0 + value, "samples_per_second": 1000 * value, "params": 12345, "device": "cpu",
            "encode_items_per_second": 500.0, "peak_memory_mb": 900 + 10 * seed, "device_name": "AMD EPYC",
            "oracle_auc": 0.93, "status": "ok", "error": "", "config_hash": content_key(config)[:12],
            "config": json.dumps(config, sort_keys=True), "study": study, "trial": trial}


@pytest.fixture
def board(tmp_path):
    rng = np.random.default_rng(0)
    labels = (rng.random(3000) < 0.3).astype(np.float32)
    directory = tmp_path / "leaderboards"
    for encoder, model, strength, seeds, study, trial, lr in RUNS:
        for seed in seeds:
            probs = 1 / (1 + np.exp(-(strength * labels + rng.standard_normal(len(labels)))))
            row = _row(encoder, model, seed, strength, study, trial, lr, auc(labels, probs))
            store.append_row(directory, Row(**row), ValidPredictions(probs, labels))
    failed = _row("random", "broken", 1, 0, "", "", 0.001, float("nan")) | {"status": "failed",
                                                                            "error": "RuntimeError: boom <b>"}
    store.append_row(directory, Row(**failed))
    return directory, labels


def _page(directory, **kw):
    return html_report.render_page(html_report.dataset_page(directory, DATASET, **kw))


def test_page_is_self_contained_deterministic_and_labels_what_it_shows(board):
    directory, _ = board
    text = _page(directory)
    assert text == _page(directory)  # a pure function of the leaderboard: no clock, no randomness
    # nothing is fetched: no external scripts, styles, fonts or images
    assert not re.search(r"<script[^>]+src=|<link|@import|url\(|<img", text)
    assert "http://" not in text and "https://" not in text
    # four combinations plus the study's best trial; the losing trials are not rows
    assert text.count('<tbody class="combo"') == 5
    assert "selected on valid" in text and "best of 3 finished trials of study &#x27;lr_search&#x27; (trial 2)" in text
    assert "Published results (not measured by mmbench)" in text and text.count('class="badge published"') == N_PUBLISHED
    assert "not comparable with this synthetic dataset" in text
    assert "Oracle valid AUC of this synthetic dataset" in text and "0.9300" in text
    assert "RuntimeError: boom &lt;b&gt;" in text  # escaped
    stats = json.loads(re.search(r'<script type="application/json" id="paired-stats">(.*?)</script>', text).group(1))
    assert len(stats["aucs"]) == len(stats["cov"]) == 3 + 2 + 2 + 2 + 1
    every = _page(directory, all_trials=True)
    assert every.count('<tbody class="combo"') == 7 and every.count('class="badge selected"') == 1


def test_trial_view_keeps_each_studys_best_trial(board):
    directory, _ = board
    rows = store.read_rows(store.csv_path(directory, DATASET))
    kept, notes = trial_view(rows, combination_key)
    trials = [r for r in kept if r["study"]]
    assert [r["trial"] for r in trials] == ["2"]
    (note,) = notes.values()
    assert (note.study, note.trial, note.n_trials, note.selected) == ("lr_search", 2, 3, True)
    assert len(kept) == len(rows) - 2


def test_html_needs_an_out_folder_and_an_existing_dataset(board, capsys):
    directory, _ = board
    assert main(["leaderboard", "--format", "html", "--leaderboard-dir", str(directory)]) != 0
    assert "--out DIR" in capsys.readouterr().err
    assert main(["leaderboard", "--format", "html", "--dataset", "nope", "--out", str(directory / "site"),
                 "--leaderboard-dir", str(directory)]) != 0
    assert "no leaderboard" in capsys.readouterr().err


# ------------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    from browser import headless_chromium, missing

    why = missing()
    if why:  # CI installs the browser as the README says, so there a missing one is a failure
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no headless Chromium: {why}")
    with headless_chromium() as driver:
        yield driver


def _fmt_delta_p(combo):
    delta = "★" if combo.is_reference else f"{combo.delta:+.4f}"
    p = "" if combo.is_reference else ("< 1e-4" if combo.p_value < 1e-4 else f"{combo.p_value:.4f}")
    return delta, p


@pytest.mark.browser
def test_page_in_headless_chromium(board, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    directory, _ = board
    site = tmp_path / "site"
    assert main(["leaderboard", "--format", "html", "--out", str(site), "--leaderboard-dir", str(directory)]) == 0
    rows = store.read_rows(store.csv_path(directory, DATASET))
    summary = summarise(rows, DATASET, directory)
    d = browser
    d.get((site / "index.html").as_uri())
    d.find_element(By.LINK_TEXT, DATASET).click()
    assert d.title == f"mmbench leaderboard: {DATASET}"

    def visible_keys():
        return [b.get_attribute("data-key") for b in d.find_elements(By.CSS_SELECTOR, "#board tbody.combo")
                if b.is_displayed()]

    # the table renders, best first, with the summary's numbers
    assert visible_keys() == [c.key for c in summary.combinations]
    for c in summary.combinations:
        body = d.find_element(By.CSS_SELECTOR, f'tbody[data-key="{c.key}"]')
        assert body.find_element(By.CSS_SELECTOR, "td.auc").text.startswith(f"{c.mean:.4f}")
        assert (body.find_element(By.CSS_SELECTOR, "td.delta").text,
                body.find_element(By.CSS_SELECTOR, "td.p").text) == _fmt_delta_p(c)

    # error bars are drawn: one bar per combination, from its CI's low to its high, in CI order
    bars = {b.get_attribute("data-key"): b.find_element(By.CSS_SELECTOR, "line.error-bar")
            for b in d.find_elements(By.CSS_SELECTOR, "#board tbody.combo")}
    assert len(bars) == len(summary.combinations)
    for c in summary.combinations:
        assert bars[c.key].rect["width"] > 2  # a horizontal line: its box has no height
        style = d.execute_script("var s = getComputedStyle(arguments[0]); return [s.stroke, s.strokeWidth, "
                                 "s.visibility, s.display]", bars[c.key])
        assert style[0] not in ("none", "") and float(style[1].rstrip("px")) > 0 and style[2:] == ["visible", "inline"]
        assert float(bars[c.key].get_attribute("x1")) < float(bars[c.key].get_attribute("x2"))
    lows = sorted(summary.combinations, key=lambda c: c.ci[0])
    xs = [float(bars[c.key].get_attribute("x1")) for c in lows]
    assert xs == sorted(xs)
    # the oracle: a line in every CI picture where it lies within the runs' range, else one mark on the axis
    lines = len(d.find_elements(By.CSS_SELECTOR, "#board svg.ci .oracle-line"))
    marks = len(d.find_elements(By.CSS_SELECTOR, "#board svg.axis .oracle-mark"))
    assert (lines, marks) in ((len(summary.combinations), 0), (0, 1))
    # the table fits a 1400 px window: it scrolls inside its container, the page does not
    d.set_window_size(1400, 900)
    assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    # sorting: by mean ascending, then descending; by model name
    header = d.find_element(By.CSS_SELECTOR, 'th[data-sort="mean"]')
    header.click()
    assert visible_keys() == [c.key for c in sorted(summary.combinations, key=lambda c: c.mean)]
    header.click()
    assert visible_keys() == [c.key for c in sorted(summary.combinations, key=lambda c: -c.mean)]
    d.find_element(By.CSS_SELECTOR, 'th[data-sort="model"]').click()
    assert [c.model for c in summary.combinations if c.key in visible_keys()[:2]] == ["dcn", "dcn"]

    # filtering by encoder, then by model too, then by free text
    Select(d.find_element(By.ID, "f-encoder")).select_by_value("random")
    assert sorted(visible_keys()) == sorted(c.key for c in summary.combinations if c.encoder == "random")
    Select(d.find_element(By.ID, "f-model")).select_by_value("din")
    assert visible_keys() == [c.key for c in summary.combinations if (c.encoder, c.model) == ("random", "din")]
    assert d.find_element(By.ID, "shown").text == f"1 of {len(summary.combinations)} combinations shown"
    Select(d.find_element(By.ID, "f-encoder")).select_by_value("")
    Select(d.find_element(By.ID, "f-model")).select_by_value("")
    d.find_element(By.ID, "f-text").send_keys("lr_search")
    assert len(visible_keys()) == 1
    d.find_element(By.ID, "f-text").clear()
    d.execute_script("document.getElementById('f-text').dispatchEvent(new Event('input'))")
    assert len(visible_keys()) == len(summary.combinations)

    # per-seed runs on expand; the config as YAML that loads back to the recorded config
    best = summary.combinations[0]
    body = d.find_element(By.CSS_SELECTOR, f'tbody[data-key="{best.key}"]')
    assert not any(r.is_displayed() for r in body.find_elements(By.CSS_SELECTOR, "tr.run"))
    body.find_element(By.CSS_SELECTOR, "button.expand").click()
    runs = [r for r in body.find_elements(By.CSS_SELECTOR, "tr.run") if r.is_displayed()]
    assert len(runs) == len(best.runs)
    body.find_element(By.CSS_SELECTOR, "button.show-config").click()
    pre = body.find_element(By.CSS_SELECTOR, "tr.config pre")
    assert pre.is_displayed()
    assert yaml.safe_load(pre.text) == json.loads(best.runs[0]["config"])
    # the button says what happened, for 1.5 s: record its texts rather than racing the timer
    copy = body.find_element(By.CSS_SELECTOR, "button.copy")
    d.execute_script("var b = arguments[0]; window.copyTexts = []; new MutationObserver(function () "
                     "{ window.copyTexts.push(b.textContent); }).observe(b, {childList: true});", copy)
    copy.click()
    said = WebDriverWait(d, 10, poll_frequency=0.05).until(lambda d: d.execute_script("return window.copyTexts"))
    assert said[0] in ("copied", "select the text to copy")

    # another reference: the page's paired DeLong test matches the Python one
    other = summary.combinations[2]
    Select(d.find_element(By.ID, "reference")).select_by_value(other.key)
    resummary = summarise(rows, DATASET, directory, reference=other.key)
    for c in resummary.combinations:
        body = d.find_element(By.CSS_SELECTOR, f'tbody[data-key="{c.key}"]')
        assert (body.find_element(By.CSS_SELECTOR, "td.delta").text,
                body.find_element(By.CSS_SELECTOR, "td.p").text) == _fmt_delta_p(c)
    assert d.find_element(By.ID, "reference-label").text == other.label

    # published rows sit apart; nothing went wrong in the page's script
    published = d.find_elements(By.CSS_SELECTOR, "#published tbody tr")
    assert len(published) == N_PUBLISHED and all("published" in r.text for r in published)
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_markdown_and_csv_summary_carry_trials_and_costs(board):
    from mmbench.leaderboard.render import render_markdown

    directory, _ = board
    summary = summarise(store.read_rows(store.csv_path(directory, DATASET)), DATASET, directory)
    md = render_markdown(summary)
    assert "*best of 3 finished trials of study 'lr_search' (trial 2), selected on valid: its valid AUC is optimistic*" in md
    header = next(line for line in md.splitlines() if line.startswith("| encoder | reducer | model | seed"))
    assert "train samples/s | encode items/s | peak memory MB | train s | device |" in header
    three = next(c for c in summary.combinations if len(c.runs) == 3)  # peak memory 910, 920, 930
    assert (three.encoder, three.model, three.trial) == ("text", "din", None)
    assert three.record()["peak_memory_mb"] == 920 and three.record()["device_name"] == "AMD EPYC"
    assert summary.combinations[0].record()["trial_of"].startswith("best of 3 finished trials")


def test_reruns_of_the_best_trial_join_it_and_the_table_says_so(board, capsys, monkeypatch):
    directory, labels = board
    rows = store.read_rows(store.csv_path(directory, DATASET))
    best = next(r for r in rows if r["trial"] == "2")
    rng = np.random.default_rng(1)
    probs = 1 / (1 + np.exp(-(1.8 * labels + rng.standard_normal(len(labels)))))
    rerun = _row("text", "din", 8, 1.8, "", "", 0.0005, auc(labels, probs))  # trial 2's config, seed 8
    store.append_row(directory, Row(**rerun), ValidPredictions(probs, labels))
    summary = summarise(store.read_rows(store.csv_path(directory, DATASET)), DATASET, directory)
    (joined,) = [c for c in summary.combinations if c.trial]
    assert sorted(r["seed"] for r in joined.runs) == [best["seed"], "8"]
    assert joined.trial.text() == ("best of 3 finished trials of study 'lr_search' (trial 2), selected on valid, plus 1 "
                                   "run(s) of its config outside the study: the trial's valid AUC is optimistic")
    monkeypatch.setenv("COLUMNS", "400")  # one line per cell
    assert main(["leaderboard", "--leaderboard-dir", str(directory), "--dataset", DATASET]) == 0
    assert joined.trial.text() in capsys.readouterr().out


# ------------------------------------------------------------------- hostile names and values


#: each sets window.__pwned (or opens an alert) if it ever runs as script: a dataset (file) name that is
#: a javascript: URL once ".html" is added, and cell values that are html
HOSTILE_DATASETS = ["javascript:window.__pwned=1,{}", "javascript:alert(1),{}", "x\" onmouseover=\"window.__pwned=7"]
HOSTILE_VALUES = {"encoder": '<img src=x onerror="window.__pwned=2">', "model": "<script>window.__pwned=3</script>",
                  "error": '"><svg onload="window.__pwned=4">', "reducer": "[x](javascript:window.__pwned=8)"}


@pytest.fixture
def hostile_board(tmp_path):
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.3).astype(np.float32)
    directory = tmp_path / "leaderboards"
    for dataset in HOSTILE_DATASETS:
        for seed in (1, 2):
            probs = 1 / (1 + np.exp(-(labels + rng.standard_normal(len(labels)))))
            row = _row("text", "din", seed, 1.0, "", "", 0.001, auc(labels, probs))
            config = json.loads(row["config"])
            config["model"]["note"] = "</script><script>window.__pwned=5</script>"
            row |= {"dataset": dataset, "config": json.dumps(config), "config_hash": content_key(config)[:12] + str(seed),
                    **{k: v for k, v in HOSTILE_VALUES.items() if k != "error"}}
            store.append_row(directory, Row(**row), ValidPredictions(probs, labels))
        store.append_row(directory, Row(**(_row("random", "broken", 1, 0, "", "", 0.001, float("nan"))
                                           | {"dataset": dataset, "status": "failed", "error": HOSTILE_VALUES["error"]})))
    (directory / "published.yaml").write_text(yaml.safe_dump({"results": [
        {"system": "<b onmouseover=window.__pwned=6>S</b>", "description": "<script>window.__pwned=6</script>",
         "valid_auc": 0.7, "source": "javascript:window.__pwned=6", "config": "`x`|<i>"}]}))
    return directory


def test_markdown_board_keeps_hostile_values_as_text(hostile_board):
    """Raw html, links and code from names and config values are text in <dataset>.md."""
    from mmbench.leaderboard.render import render_markdown

    for dataset in HOSTILE_DATASETS:
        md = render_markdown(summarise(store.read_rows(store.csv_path(hostile_board, dataset)), dataset, hostile_board))
        text = re.sub(r"(`+) .*? \1|(`+)[^`]*?\2", "", md)  # code spans show their text as it is
        for raw in ("<script", "<img", "<svg", "<b ", "<i>"):
            assert raw not in text, (raw, md)
        assert not re.search(r"(?<!\\)\]\(\s*javascript:", md), md  # no link: its brackets are escaped
        assert "&lt;img src=x onerror=\"window.\\_\\_pwned=2\"&gt;" in md  # shown, as text
        table_rows = [line for line in md.splitlines() if line.startswith("| ")]
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table_rows if "---" not in line}
        assert len(widths) <= 3  # the three tables keep their columns: no value added a cell


def test_names_that_become_paths_stay_in_their_folder(tmp_path, capsys):
    """A dataset id or a study name with '/' or '..' never names a file outside its folder."""
    from mmbench.files import paths
    from mmbench.errors import MMBenchError

    for name in ("../x", "a/b", "..", ".", "", "x\x00y", "a\\b"):
        with pytest.raises(MMBenchError):
            paths.inside(tmp_path, name, "dataset id", ".csv")
    assert paths.inside(tmp_path, "javascript:x,{}", "dataset id", ".html") == tmp_path / "javascript:x,{}.html"
    assert main(["leaderboard", "--leaderboard-dir", str(tmp_path), "--dataset", "../../etc/passwd"]) == 2
    assert "dataset id '../../etc/passwd' cannot name a file" in capsys.readouterr().err


@pytest.mark.browser
def test_hostile_names_and_values_run_no_script_in_chromium(hostile_board, tmp_path, browser):
    """The html index and pages built from hostile CSV file names and config values: every link is
    clicked, every row hovered; no script of theirs runs and no alert opens."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    site = tmp_path / "site"
    assert main(["leaderboard", "--format", "html", "--out", str(site), "--leaderboard-dir", str(hostile_board)]) == 0
    d = browser

    def no_script_ran(where):
        assert d.execute_script("return window.__pwned === undefined"), f"script ran on {where}"
        try:
            d.switch_to.alert
        except NoAlertPresentException:
            return
        pytest.fail(f"an alert opened on {where}")

    index = (site / "index.html").as_uri()
    d.get(index)
    links = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "#datasets a")]
    assert len(links) == len(HOSTILE_DATASETS) and all(h.startswith("file://") for h in links), links
    for i in range(len(links)):
        d.get(index)
        d.find_elements(By.CSS_SELECTOR, "#datasets a")[i].click()
        no_script_ran(f"index link {i}")
        assert d.title.startswith("mmbench leaderboard: "), d.current_url  # the dataset's page opened
        assert HOSTILE_VALUES["encoder"] in d.find_element(By.TAG_NAME, "body").text  # shown as text
        for element in d.find_elements(By.CSS_SELECTOR, "td, th, a, code, span")[:200]:
            if element.is_displayed():
                ActionChains(d).move_to_element(element).perform()
        for button in d.find_elements(By.CSS_SELECTOR, "button.show-config"):
            if button.is_displayed():
                button.click()
        for a in d.find_elements(By.CSS_SELECTOR, "a"):
            href = a.get_attribute("href") or ""
            assert not href.lower().startswith(("javascript:", "data:", "vbscript:")), href
        no_script_ran(d.current_url)



def test_the_ci_axis_spans_the_runs_and_marks_an_oracle_beyond_them():
    """The oracle (0.976 on world 2) would stretch the axis from the runs' 0.70-0.78 to 1.0 and squeeze
    each CI bar to a few pixels: the axis spans the runs, and the oracle is marked at the edge."""
    from types import SimpleNamespace

    from mmbench.report.html_report import Scale, _axis_svg, _ci_svg

    combo = {"mean": 0.74, "ci": [0.73, 0.75], "runs": [{"auc": 0.735}, {"auc": 0.745}], "is_reference": False}
    other = {"mean": 0.78, "ci": [0.77, 0.79], "runs": [{"auc": 0.78}], "is_reference": False}
    scale = Scale.of(SimpleNamespace(combos=[combo, other], oracle_auc=0.976))
    assert scale.hi < 0.8 and scale.lo > 0.7
    assert scale.x(0.75) - scale.x(0.73) > 0.2 * (scale.width - 28)  # the CI bar is a fifth of the axis or more
    axis, ci = _axis_svg(scale, 0.976), _ci_svg(combo, scale, 0.976)
    assert 'class="oracle-mark"' in axis and "oracle 0.976 →" in axis and "oracle-line" not in ci
    inside = _ci_svg(combo, scale, 0.76)
    assert "oracle-line" in inside and "oracle-mark" not in _axis_svg(scale, 0.76)
