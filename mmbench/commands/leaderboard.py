"""``mmbench leaderboard``: one row per combination (mean ± std over seeds, DeLong CI, paired p-value)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path


from ..output.console import make_console
from ..errors import MMBenchError
from ..leaderboard import pending, store
from ..leaderboard.render import fmt, fmt_p, render, render_markdown
from ..leaderboard.summary import RECORD_COLUMNS, summarise
from ..output.tables import show_table
from . import add_leaderboard_dir


#: what ``--runs`` shows of each recorded run (the CSV has more: its config as JSON, versions, ...)
RUN_FIELDS = ("timestamp", "encoder", "reducer", "model", "seed", "valid_auc", "valid_logloss", "valid_gauc",
              "epochs", "best_epoch", "encode_seconds", "train_seconds", "device", "status", "config_hash",
              "study", "trial", "error")


def _show_runs(path: Path, dataset: str, fmt: str) -> None:
    """The recorded runs: raw CSV (csv), typed JSON (json), else a table of the run fields as stored."""
    if fmt == "json":
        print(json.dumps([store.typed_row(r) for r in store.read_rows(path)], indent=2))
    elif fmt == "csv":
        print(path.read_bytes().decode("utf-8", "replace"), end="")
    else:
        runs = store.read_rows(path)
        columns = [c for c in RUN_FIELDS if any(r.get(c) not in ("", None) for r in runs)] or list(RUN_FIELDS[:7])
        show_table(f"{dataset}: {len(runs)} recorded run(s) (the CSV with each run's config: --format csv)",
                   columns, [[str(r.get(c) or "") for c in columns] for r in runs], fmt)


def _show(dataset: str, directory: Path, args) -> None:
    path = store.csv_path(directory, dataset)
    if not path.exists():
        known = ", ".join(p.stem for p in directory.glob("*.csv") if p.is_file()) or "none"
        raise MMBenchError(f"no leaderboard {path}; known: {known}")
    if args.runs:
        _show_runs(path, dataset, args.format)
        return
    if args.render:  # md + chart beside the CSV
        summary, md_path = render(directory, dataset, args.reference)
    else:
        summary, md_path = summarise(store.read_rows(path), dataset, directory, args.reference, args.all_trials), None
    if args.format == "md":
        print(render_markdown(summary), end="")
        return
    records = [c.record() for c in summary.combinations]
    if args.format == "json":
        print(json.dumps({"dataset": dataset, "reference": summary.reference.key if summary.reference else None,
                          "combinations": records, "failed": [store.typed_row(r) for r in summary.failed],
                          "published": summary.published}, indent=2, default=str))
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=RECORD_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buf.getvalue())
    else:  # table (rich at a terminal, plain columns in a pipe) or tsv
        columns = ["encoder", "reducer", "model", "variant", "seeds", "valid AUC", "95 % CI", "Δ vs ★", "p", "combo"]
        rows = [[c.encoder, c.reducer_label, c.model,
                 "\n".join(x for x in (c.variant, c.trial.text() if c.trial else "") if x), str(len(c.runs)),
                 f"{c.mean:.4f}" + (f" ± {c.std:.4f}" if len(c.runs) > 1 else ""),
                 f"[{c.ci[0]:.4f}, {c.ci[1]:.4f}]" if c.ci else "—",
                 "★" if c.is_reference else fmt(c.delta, "+.4f"),
                 "" if c.is_reference else fmt_p(c.p_value), c.key] for c in summary.combinations]
        notes = []
        if summary.reference is not None:
            notes.append(f"★ reference: {summary.reference.label} — {summary.reference_reason}")
        md = md_path or path.with_suffix(".md")
        if summary.failed:
            notes.append(f"{len(summary.failed)} failed run(s): `--format md` lists them")
        notes.append(f"published results (not measured by mmbench): `--format md`, section 'Published results'; "
                     f"rendered files: {md} and {md.with_suffix('.png').name}"
                     + ("" if md_path else " (written by run, sweep and `leaderboard --render`)"))
        show_table(f"{dataset} — mean ± std over seeds; 95 % CI (DeLong); p vs ★ (paired DeLong)", columns, rows,
                   args.format, notes)


def _write_html(directory: Path, datasets: list[str], args) -> None:
    from ..report import html_report

    if not args.out:
        raise MMBenchError("--format html writes files: give the folder with --out DIR")
    every = sorted(set(store.dataset_ids(directory)) | set(datasets))
    pages = [html_report.dataset_page(directory, d, args.reference if d in datasets else None, args.all_trials)
             for d in every]
    written = html_report.write_site(Path(args.out), pages, set(datasets))
    make_console().print(f"wrote {', '.join(str(p) for p in written)} (open {written[0]} in a browser)",
                         soft_wrap=True)


def cmd_add(args) -> int:
    """``mmbench leaderboard add FILE``: record a row that a run could not write (saved under
    ``$MMBENCH_HOME/pending``), once."""
    console = make_console()
    for file in args.files:
        path, written = pending.add_pending(Path(file), args.leaderboard_dir)
        if written:
            render(path.parent, path.stem)
        console.print(f"{file}: row added to {path}" if written else
                      f"{file}: {path} already has an ok row of this run; nothing added (file removed)",
                      soft_wrap=True)
    return 0


def cmd_leaderboard(args) -> int:
    if getattr(args, "action", None) == "add":
        return cmd_add(args)
    directory = store.leaderboard_dir(args.leaderboard_dir)
    datasets = [args.dataset] if args.dataset else store.dataset_ids(directory)
    if not datasets:
        raise MMBenchError(f"no leaderboard in {directory}; run `mmbench run CONFIG` or `mmbench sweep SWEEP` first "
                           f"(the repository's committed boards: --leaderboard-dir leaderboards)")
    if args.format == "html":
        for dataset in datasets:
            if not store.csv_path(directory, dataset).exists():
                raise MMBenchError(f"no leaderboard {store.csv_path(directory, dataset)}; known: "
                                   f"{', '.join(p.stem for p in directory.glob('*.csv')) or 'none'}")
        _write_html(directory, datasets, args)
        return 0
    if args.out:
        raise MMBenchError("--out is for --format html; the other formats print to stdout")
    for dataset in datasets:
        _show(dataset, directory, args)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="one row per combination, with CIs and paired tests (reads only)")
    p.add_argument("--dataset", help="dataset id (default: every leaderboard in the folder)")
    p.add_argument("--format", choices=["table", "tsv", "md", "csv", "json", "html"], default="table",
                   help="table: boxed at a terminal, plain columns (numbers never cut) in a pipe or file; "
                        "tsv: tab-separated; html: a static page per dataset and an index, written to --out DIR")
    p.add_argument("--out", metavar="DIR", help="where --format html writes index.html and <dataset>.html")
    p.add_argument("--all-trials", action="store_true",
                   help="show every trial of a tuning study, not only each study's best (selected on valid)")
    p.add_argument("--reference", metavar="CONFIG_HASH_OR_LABEL",
                   help="the row the others are tested against: a run's config hash, a combination key, or "
                        "encoder/reducer/model (default: precomputed/pca/din if present, else the best)")
    p.add_argument("--runs", action="store_true",
                   help="list the recorded runs instead of the summary (--format csv: the CSV as stored, "
                        "with each run's config; json: typed rows)")
    p.add_argument("--render", action="store_true", help="also write <dataset>.md and <dataset>.png beside the CSV")
    add_leaderboard_dir(p, "the folder to read")
    p.set_defaults(func=cmd_leaderboard)
    actions = p.add_subparsers(dest="action", metavar="[add]")
    add = actions.add_parser("add", help="record rows that finished runs could not write (the saved .json files "
                                          "they name), each once")
    add.add_argument("files", nargs="+", metavar="FILE", help="a row saved by a run, $MMBENCH_HOME/pending/<hash>.json")
    add.add_argument("--leaderboard-dir", default=argparse.SUPPRESS, metavar="DIR",  # before or after `add`
                     help="record it here instead of the folder the run was writing to")
