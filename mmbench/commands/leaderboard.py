"""``mmbench leaderboard``: one row per combination (mean ± std over seeds, DeLong CI, paired p-value)."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from rich.table import Table

from ..console import make_console, styled
from ..errors import MMBenchError
from ..leaderboard import store
from ..leaderboard.render import fmt, fmt_p, render, render_markdown
from ..leaderboard.summary import RECORD_COLUMNS, summarise
from . import add_leaderboard_dir


def _show(dataset: str, directory: Path, args) -> None:
    path = store.csv_path(directory, dataset)
    if not path.exists():
        known = ", ".join(p.stem for p in directory.glob("*.csv") if p.is_file()) or "none"
        raise MMBenchError(f"no leaderboard {path}; known: {known}")
    if args.runs:  # the recorded runs themselves, as stored
        if args.format == "json":
            print(json.dumps([store.typed_row(r) for r in store.read_rows(path)], indent=2))
        else:
            print(path.read_bytes().decode("utf-8", "replace"), end="")
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
    else:
        table = Table(title=f"{dataset} — mean ± std over seeds; 95 % CI (DeLong); p vs ★ (paired DeLong)")
        for col in ("encoder", "reducer", "model", "variant", "seeds", "valid AUC", "95 % CI", "Δ vs ★", "p", "combo"):
            table.add_column(col)
        for c in summary.combinations:
            variant = styled(c.variant)
            if c.trial:
                variant = variant + ("\n" if c.variant else "") + styled(c.trial.text(), "italic")
            table.add_row(c.encoder, c.reducer_label, c.model, variant, str(len(c.runs)),
                          f"{c.mean:.4f}" + (f" ± {c.std:.4f}" if len(c.runs) > 1 else ""),
                          f"[{c.ci[0]:.4f}, {c.ci[1]:.4f}]" if c.ci else "—",
                          "★" if c.is_reference else fmt(c.delta, "+.4f"),
                          "" if c.is_reference else fmt_p(c.p_value), c.key)
        console = make_console()
        console.print(table)
        if summary.reference is not None:
            console.print(f"★ reference: {summary.reference.label} — {summary.reference_reason}")
        md = md_path or path.with_suffix(".md")
        if summary.failed:
            console.print(f"{len(summary.failed)} failed run(s): `--format md` lists them")
        console.print(f"published results (not measured by mmbench): `--format md`, section 'Published results'; "
                      f"rendered files: {md} and {md.with_suffix('.png').name}"
                      + ("" if md_path else " (written by run, sweep and `leaderboard --render`)"))


def _write_html(directory: Path, datasets: list[str], args) -> None:
    from .. import html_report

    if not args.out:
        raise MMBenchError("--format html writes files: give the folder with --out DIR")
    every = sorted(set(store.dataset_ids(directory)) | set(datasets))
    pages = [html_report.dataset_page(directory, d, args.reference if d in datasets else None, args.all_trials)
             for d in every]
    written = html_report.write_site(Path(args.out), pages, set(datasets))
    make_console().print(f"wrote {', '.join(str(p) for p in written)} (open {written[0]} in a browser)",
                         soft_wrap=True)


def cmd_leaderboard(args) -> int:
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
    p.add_argument("--format", choices=["table", "md", "csv", "json", "html"], default="table",
                   help="html: a static page per dataset and an index, written to --out DIR")
    p.add_argument("--out", metavar="DIR", help="where --format html writes index.html and <dataset>.html")
    p.add_argument("--all-trials", action="store_true",
                   help="show every trial of a tuning study, not only each study's best (selected on valid)")
    p.add_argument("--reference", metavar="CONFIG_HASH_OR_LABEL",
                   help="the row the others are tested against: a run's config hash, a combination key, or "
                        "encoder/reducer/model (default: precomputed/pca/din if present, else the best)")
    p.add_argument("--runs", action="store_true", help="print the recorded runs (the CSV) instead of the summary")
    p.add_argument("--render", action="store_true", help="also write <dataset>.md and <dataset>.png beside the CSV")
    add_leaderboard_dir(p, "the folder to read")
    p.set_defaults(func=cmd_leaderboard)
