"""The leaderboard folder is shared and long-lived: whatever a past run, another tool or a person left
in it (a long field, bytes that are not UTF-8, a hand-edited row, damaged prediction files, a broken
published.yaml, folders where files belong) never takes it down. For each damage below, on a folder
holding two real runs and a failed one:

- ``mmbench leaderboard`` still shows the table (exit 0, notes at most, never a traceback);
- ``mmbench run`` still records its row (or, where it cannot, says why in one line), and every row and
  file that was there before is still there, byte for byte where mmbench does not own it.
"""
from __future__ import annotations

import csv
import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import fuzz_cases as fz
from mmbench.run import checkpoint
from mmbench import cli
from mmbench.data import mmbench_home
from mmbench.leaderboard import csvfile, store
from mmbench.contract.registry import reset_default_registry
from mmbench.run.row import COLUMNS, Row

DATASET = "microlens_1m"


def _cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def _config(tmp: Path, data_root: Path) -> Path:
    raw = fz.base_config()
    raw["dataset"]["data_root"] = str(data_root)
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="session")
def recorded(tmp_path_factory, tiny_root):
    """A leaderboard folder with two measured runs (seeds 1, 2) and one failed row."""
    base = tmp_path_factory.mktemp("lb_base")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMBENCH_HOME", str(base / "home"))
        reset_default_registry()
        config = _config(base, tiny_root)
        for seed in (1, 2):
            assert cli.main(["run", str(config), "--leaderboard-dir", str(base / "lb"), "--set", f"train.seed={seed}"]) == 0
        store.append_row(base / "lb", Row(dataset=DATASET, encoder="random", reducer="pca", model="din", seed=3,
                                          status="failed", error="RuntimeError: boom", config_hash="f" * 12))
    return base / "lb"


# --- damage: each takes the folder and changes it ---------------------------------------------------


def _csv(lb: Path) -> Path:
    return store.csv_path(lb, DATASET)


def _line(extra: bytes = b"", **values: bytes) -> bytes:
    """A CSV line in the header's column order with ``values`` (raw bytes), plus ``extra`` fields."""
    fields = [values.get(c, b"") for c in COLUMNS]
    fields[COLUMNS.index("dataset")] = DATASET.encode()
    return b",".join(fields + ([extra] if extra else [])) + b"\n"


def _append_line(text: bytes):
    def damage(lb):
        with open(_csv(lb), "ab") as f:
            f.write(text)
    return damage


def _edit_rows(edit):
    """Rewrite the CSV through csv, after ``edit(header, rows) -> (header, rows)`` on lists of strings."""
    def damage(lb):
        header, *rows = list(csv.reader(io.StringIO(_csv(lb).read_text(encoding="utf-8"))))
        header, rows = edit(header, rows)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        _csv(lb).write_text(buf.getvalue(), encoding="utf-8")
    return damage


def _with_row_edit(header, rows, **values):
    row = list(rows[0])
    for key, value in values.items():
        row[header.index(key)] = value
    return header, rows + [row]


def _with_row(**values):
    """One more ok row: a copy of the first run's, with ``values`` in its columns."""
    return _edit_rows(lambda header, rows: _with_row_edit(header, rows, **values))


def _drop_columns(*names):
    def edit(header, rows):
        keep = [i for i, h in enumerate(header) if h not in names]
        return [header[i] for i in keep], [[r[i] for i in keep] for r in rows]
    return _edit_rows(edit)


def _no_oracle(header, rows):
    i = header.index("oracle_auc")
    return header, [r[:i] + [""] + r[i + 1:] for r in rows]


def _preds(lb: Path) -> Path:
    return store.preds_dir(lb, DATASET)


def _write(rel: str, data):
    def damage(lb):
        path = lb / rel.format(preds=store.preds_dir(lb, DATASET).relative_to(lb), dataset=DATASET)
        if isinstance(data, bytes):
            path.write_bytes(data)
        elif data is np:
            path.write_bytes(b"")
        else:
            with open(path, "wb") as f:
                np.save(f, data, allow_pickle=True)
    return damage


def _first_pred(lb: Path) -> Path:
    return next(p for p in sorted(_preds(lb).glob("*.npy")) if p.name != "valid_labels.npy")


def _pred(data):
    def damage(lb):
        path = _first_pred(lb)
        changed = data(np.load(path))
        with open(path, "wb") as f:
            np.save(f, changed, allow_pickle=True)
    return damage


def _replace_with_folder(rel: str):
    def damage(lb):
        path = lb / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        path.mkdir(parents=True)
        (path / "keep.txt").write_text("someone's file")
    return damage


def _replace_with_file(rel: str):
    def damage(lb):
        path = lb / rel
        shutil.rmtree(path)
        path.write_text("someone's file")
    return damage


def _published(text: bytes):
    def damage(lb):
        _edit_rows(_no_oracle)(lb)  # real data: the chart draws published results too
        (lb / "published.yaml").write_bytes(text)
    return damage


def _truncate(path_of):
    def damage(lb):
        path = path_of(lb)
        path.write_bytes(path.read_bytes()[:40])
    return damage


GOOD_PUBLISHED = {"system": "X", "description": "d", "valid_auc": 0.7, "test_auc": 0.69, "source": "paper"}

def _resave(delimiter: str = ",", encoding: str = "utf-8", preamble: str = "", decimal_comma: bool = False,
            header=lambda h: h):
    """The CSV saved again the way a spreadsheet or an editor would: another separator (with decimal
    commas), another encoding, comment lines before the header, an edited header."""
    def damage(lb):
        head, *rows = list(csv.reader(io.StringIO(_csv(lb).read_text(encoding="utf-8"))))
        if decimal_comma:
            rows = [[f.replace(".", ",") if f.replace(".", "", 1).isdigit() else f for f in r] for r in rows]
        buf = io.StringIO()
        buf.write(preamble)
        csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows([header(head), *rows])
        _csv(lb).write_bytes(buf.getvalue().encode(encoding))
    return damage


#: the same rows saved again by a spreadsheet or an editor: every view shows them as they were
RESAVED = {"comment-first-line", "excel-semicolon", "excel-tab", "utf16-with-bom", "utf16-le-without-bom",
           "utf16-semicolon-comment"}
#: the header that a spreadsheet save turned into something else: refused, never read as rows of nothing
CSV_REFUSED = {"csv-a-folder", "binary-garbage", "columns-renamed", "duplicate-valid-auc-column", "header-lost"}

#: name -> (damage, what ``mmbench run`` must do: 0 = record its row, 2 = refuse in one line)
DAMAGE = {
    "comment-first-line": (_resave(preamble="# runs of the team, do not edit\n\n"), 0),
    "excel-semicolon": (_resave(delimiter=";", decimal_comma=True), 0),
    "excel-tab": (_resave(delimiter="\t"), 0),
    "utf16-with-bom": (_resave(encoding="utf-16"), 0),
    "utf16-le-without-bom": (_resave(encoding="utf-16-le"), 0),
    "utf16-semicolon-comment": (_resave(delimiter=";", encoding="utf-16", preamble="# exported\n"), 0),
    "duplicate-valid-auc-column": (_resave(header=lambda h: [("valid_auc" if c == "valid_gauc" else c) for c in h]), 2),
    "header-lost": (_edit_rows(lambda h, rows: (rows[0], rows[1:])), 2),
    "long-config-field": (_with_row(config='{"encoder": {"x": "' + "y" * 300_000 + '"}}', config_hash="a" * 12), 0),
    "bytes-not-utf8": (_append_line(_line(status=b"failed", error=b"caf\xe9 \xff\xfe", config_hash=b"b" * 12)), 0),
    "bom": (lambda lb: _csv(lb).write_bytes(b"\xef\xbb\xbf" + _csv(lb).read_bytes()), 0),
    "nul-byte": (_append_line(_line(valid_auc=b"\x00", status=b"failed", error=b"x\x00y")), 0),
    "crlf-line-ends": (lambda lb: _csv(lb).write_bytes(_csv(lb).read_bytes().replace(b"\n", b"\r\n")), 0),
    "short-row": (_append_line(b"2026,microlens_1m,random\n"), 0),
    "long-row": (_append_line(_line(status=b"failed", config_hash=b"c" * 12, extra=b"extra1,extra2")), 0),
    "garbage-line": (_append_line(b"this is not a leaderboard row at all\n"), 0),
    "unbalanced-quote": (_append_line(b'"2026,microlens_1m,random\nmore text\n'), 0),
    "auc-not-a-number": (_with_row(valid_auc="n/a", config_hash="b" * 12), 0),
    "auc-out-of-range": (_with_row(valid_auc="2.5", config_hash="c" * 12), 0),
    "auc-inf": (_with_row(valid_auc="inf", config_hash="d" * 12), 0),
    "oracle-garbage": (_with_row(oracle_auc="lots", config_hash="e" * 12), 0),
    "config-not-json": (_with_row(config="{", config_hash="1" * 12), 0),
    "config-a-list": (_with_row(config="[1, 2]", config_hash="2" * 12), 0),
    "config-train-not-a-mapping": (_with_row(config='{"train": 5}', config_hash="3" * 12), 0),
    "pipes-and-newlines": (_with_row(encoder="ra|ndom\nx", config_hash="4" * 12), 0),
    "status-unknown": (_with_row(status="weird", config_hash="5" * 12), 0),
    "trial-not-a-number": (_with_row(study="s", trial="third", config_hash="6" * 12), 0),
    "study-long-with-pipes": (_with_row(study="a|b\n<i>" * 2000, trial="-5", config_hash="7" * 12), 0),
    "study-trial-auc-garbage": (_edit_rows(lambda h, rows: _with_row_edit(h, rows, study="s", trial="1",
                                                                          valid_auc="n/a", config_hash="8" * 12)), 0),
    "costs-garbage": (_with_row(peak_memory_mb="lots", samples_per_second="inf", encode_items_per_second="-1e400",
                                device_name="GPU|x\n<b>" * 500, config_hash="9" * 12), 0),
    "columns-dropped": (_drop_columns("config_hash", "encoder"), 0),
    "columns-renamed": (_edit_rows(lambda h, rows: ([c.upper() for c in h], rows)), 2),
    "empty-file": (lambda lb: _csv(lb).write_bytes(b""), 0),
    "header-only": (lambda lb: _csv(lb).write_bytes(_csv(lb).read_bytes().split(b"\n")[0] + b"\n"), 0),
    "binary-garbage": (lambda lb: _csv(lb).write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096,
                                                                                               np.uint8))), 2),
    "foreign-csv-beside": (lambda lb: (lb / "notes.csv").write_text("a,b\n1,2\n"), 0),
    "csv-a-folder": (_replace_with_folder(f"{DATASET}.csv"), 2),
    "labels-garbage": (_write("{preds}/valid_labels.npy", b"not numpy"), 0),
    "labels-truncated": (_truncate(lambda lb: _preds(lb) / "valid_labels.npy"), 0),
    "labels-pickled-objects": (_write("{preds}/valid_labels.npy", np.array([{"a": 1}], dtype=object)), 0),
    "labels-2d": (_write("{preds}/valid_labels.npy", np.zeros((3, 2))), 0),
    "labels-not-0-1": (_write("{preds}/valid_labels.npy", np.full(1000, 2, np.int8)), 0),
    "labels-of-other-data": (lambda lb: np.save(_preds(lb) / "valid_labels.npy",
                                                1 - np.load(_preds(lb) / "valid_labels.npy")), 0),
    "labels-empty-file": (_write("{preds}/valid_labels.npy", np), 0),
    "prediction-garbage": (lambda lb: _first_pred(lb).write_bytes(b"\x93NUMPY garbage"), 0),
    "prediction-wrong-length": (_pred(lambda p: p[:10]), 0),
    "prediction-nan": (_pred(lambda p: np.where(np.arange(len(p)) == 3, np.nan, p)), 0),
    "prediction-strings": (_pred(lambda p: np.array(["x"] * len(p))), 0),
    "prediction-pickled": (lambda lb: _first_pred(lb).write_bytes(pickle.dumps([0.5] * 1000)), 0),
    "prediction-a-folder": (lambda lb: _replace_with_folder(str(_first_pred(lb).relative_to(lb)))(lb), 0),
    "preds-folder-a-file": (_replace_with_file(f"{DATASET}/preds"), 0),
    "dataset-folder-a-file": (_replace_with_file(DATASET), 0),
    "published-not-yaml": (_published(b"results: [unclosed\n"), 0),
    "published-binary": (_published(bytes(range(256))), 0),
    "published-a-list": (_published(b"- a\n- b\n"), 0),
    "published-results-not-a-list": (_published(b"results: 5\n"), 0),
    "published-entry-not-a-mapping": (_published(yaml.safe_dump({"results": ["x", 3, GOOD_PUBLISHED]}).encode()), 0),
    "published-entry-missing-keys": (_published(yaml.safe_dump({"results": [{"valid_auc": 0.7}, GOOD_PUBLISHED]})
                                                .encode()), 0),
    "published-auc-not-a-number": (_published(yaml.safe_dump({"results": [{**GOOD_PUBLISHED, "valid_auc": "n/a"},
                                                                          {**GOOD_PUBLISHED, "valid_auc": 7}]})
                                              .encode()), 0),
    "published-long-values": (_published(yaml.safe_dump({"results": [{**GOOD_PUBLISHED, "description": "d|" * 5000}]})
                                         .encode()), 0),
    "published-a-folder": (_replace_with_folder("published.yaml"), 0),
    "markdown-a-folder": (_replace_with_folder(f"{DATASET}.md"), 0),
    "chart-a-folder": (_replace_with_folder(f"{DATASET}.png"), 0),
    "lock-a-folder": (_replace_with_folder(f"{DATASET}.csv.lock"), 2),
    "stray-files": (lambda lb: [(lb / "README.txt").write_text("notes"), (lb / "old").mkdir(),
                                (lb / f".{DATASET}.csv.123.tmp").write_text("a crashed editor's temp")], 0),
}


def _snapshot(lb: Path) -> dict[str, bytes]:
    """Every file in the folder (not the derived md/png) and its bytes."""
    derived = {f"{DATASET}.md", f"{DATASET}.png"}
    return {str(p.relative_to(lb)): p.read_bytes() for p in lb.rglob("*")
            if p.is_file() and p.name not in derived and p.parent.name not in derived}


def _parsed(data: bytes) -> list[list[str]]:
    """Header and rows as lists of fields (what a rewrite must keep), however the file was saved."""
    table = csvfile.parse(Path("x.csv"), data)
    return [table.header, *table.rows] if table.header or table.rows else []


def _one_line_or_notes(err: str, rc: int) -> list[str]:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith(("note:", "warning:", "error:")) for line in lines), err
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == (0 if rc == 0 else 1), err
    return lines


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_a_damaged_leaderboard_folder_never_goes_down(name, recorded, tiny_root, tmp_path, capsys):
    damage, run_rc = DAMAGE[name]
    lb = tmp_path / "lb"
    shutil.copytree(recorded, lb)
    damage(lb)
    before = _snapshot(lb)
    reset_default_registry()

    rc, out, err = _cli(capsys, "leaderboard", "--leaderboard-dir", lb, "--format", "md")
    shown = _one_line_or_notes(err, rc)
    fz.report({"id": f"leaderboard-folder/{name}", "command": "leaderboard", "rc": rc, "stderr": shown})
    if name in CSV_REFUSED:  # one line naming the file (a folder in its place: "no leaderboard in ...")
        assert rc == 2 and (name == "csv-a-folder" or f"{DATASET}.csv" in shown[-1]), shown
    else:
        assert rc == 0 and "# Leaderboard:" in out

    rc, out, err = _cli(capsys, "leaderboard", "--leaderboard-dir", lb, "--dataset", DATASET, "--format", "json")
    _one_line_or_notes(err, rc)
    if name not in CSV_REFUSED:  # strict JSON: no NaN or Infinity, whatever the cells held
        assert rc == 0 and json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))["dataset"] == DATASET
    if name in RESAVED:  # another save of the same rows shows the same rows, none vanish
        assert store.read_rows(_csv(lb)) == store.read_rows(_csv(recorded))

    site = tmp_path / "site"
    rc, out, err = _cli(capsys, "leaderboard", "--leaderboard-dir", lb, "--format", "html", "--out", site)
    shown = _one_line_or_notes(err, rc)
    fz.report({"id": f"leaderboard-folder/{name}", "command": "leaderboard --format html", "rc": rc, "stderr": shown})
    if name not in CSV_REFUSED:
        assert rc == 0 and f"<title>mmbench leaderboard: {DATASET}</title>" in (site / f"{DATASET}.html").read_text()

    rc, out, err = _cli(capsys, "run", _config(tmp_path, tiny_root), "--leaderboard-dir", lb, "--set", "train.seed=7")
    lines = _one_line_or_notes(err, rc)
    fz.report({"id": f"leaderboard-folder/{name}", "command": "run", "rc": rc, "stderr": lines})
    assert rc == run_rc, lines
    if rc != 0:  # refused as soon as the dataset id was known: nothing trained, no checkpoint saved
        runs = checkpoint.runs_root(mmbench_home())
        assert not (runs.exists() and any(runs.iterdir())), lines
    after = _snapshot(lb)
    csv_name = f"{DATASET}.csv"
    for path, data in before.items():  # nothing anyone left there is lost
        if path == csv_name and name in CSV_REFUSED:
            assert after[path] == data, "a refused leaderboard CSV was changed"
        elif path == csv_name:  # every row kept as it was (the header may gain columns at its end)
            old, new = _parsed(data), _parsed(after[path])
            assert len(new) == max(len(old), 1) + (1 if rc == 0 else 0)
            assert new[0][:len(old[0] if old else [])] == (old[0] if old else [])
            assert new[1:len(old)] == old[1:]
        elif not path.startswith(f"{DATASET}/preds/"):
            assert after.get(path) == data, f"{path} changed"
    if rc == 0:
        header, *rows = _parsed(after[csv_name])
        new_row = dict(zip(header, rows[-1]))
        assert new_row["status"] == "ok" and new_row["seed"] == "7" and 0.5 < float(new_row["valid_auc"]) < 1.0
    if name in RESAVED and "comment" in name:  # the comment lines stay where they were
        assert after[csv_name].startswith(b"# ")


def test_a_row_longer_than_the_csv_field_limit_is_read_and_kept(recorded, tmp_path):
    """csv refuses fields over 128 KiB by default: one long config made every later command crash."""
    lb = tmp_path / "lb"
    shutil.copytree(recorded, lb)
    DAMAGE["long-config-field"][0](lb)
    rows = store.read_rows(_csv(lb))
    assert len(rows) == 4 and len(rows[-1]["config"]) > 300_000
    store.append_row(lb, Row(dataset=DATASET, status="failed", error="x", config_hash="9" * 12))
    assert store.read_rows(_csv(lb))[3] == rows[3]


def test_a_sweep_record_keeps_rows_it_does_not_own(recorded, tmp_path):
    """record_row (sweeps) rewrites the CSV too: foreign rows stay as they were, a failed row of the
    same combination is replaced, an ok one is never recorded twice."""
    lb = tmp_path / "lb"
    shutil.copytree(recorded, lb)
    for name in ("bytes-not-utf8", "long-row", "short-row"):
        DAMAGE[name][0](lb)
    before = _parsed(_csv(lb).read_bytes())
    failed = Row(dataset=DATASET, encoder="random", reducer="pca", model="din", seed=3, config_hash="f" * 12)
    assert store.record_row(lb, failed) is True  # replaces the failed row of hash ffff…
    after = _parsed(_csv(lb).read_bytes())
    kept = [r for r in before[1:] if "f" * 12 not in r]
    assert after[0] == before[0] and after[1:-1] == kept and after[-1][COLUMNS.index("status")] == "ok"
    assert store.record_row(lb, failed) is False and _parsed(_csv(lb).read_bytes()) == after
