"""``<dataset>.md`` and ``<dataset>.png`` beside the CSV, rendered from a summary once per command
(``mmbench run``, ``mmbench sweep``, ``mmbench leaderboard --render``)."""
from __future__ import annotations

import math
from pathlib import Path

from ..files.atomic import atomic_write_bytes
from ..errors import short, warn
from ..output.escaping import md_code, md_text, md_url
from ..files.locks import LockTimeout
from . import store
from .chart import write_chart
from .summary import Summary, num, summarise


def fmt(value, spec: str = ".4f", empty: str = "—") -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return empty
    return format(float(value), spec)


def fmt_p(p) -> str:
    if p is None:
        return "—"
    return "< 1e-4" if p < 1e-4 else f"{p:.4f}"


def cell(value, limit: int = 120) -> str:
    """A table cell from a recorded value: one line, shortened, nothing in it read as markdown or html
    (a CSV edited by hand, a config value or a long error must not break the table or add markup)."""
    return md_text(value, limit)


def cost_cell(value, spec: str) -> str:
    """A cost column's value as shown: a number in ``spec``, a text as it is, "—" where there is none."""
    if spec:
        return fmt(num(value), spec)
    return short(str(value), 120) if value not in (None, "") else "—"


def render_markdown(summary: Summary) -> str:
    dataset = summary.dataset
    lines = [f"# Leaderboard: {md_text(dataset)}", "",
             f"Measured by mmbench, rendered from {md_code(dataset + '.csv')} (the source of truth). One row per combination "
             "(encoder × reducer × model × hyper-parameters): valid AUC as mean ± std over its seeds; "
             "95 % CI: DeLong, of that seed-mean, from the valid predictions in "
             f"{md_code(dataset + '/preds/')}; Δ and p: paired DeLong test against the reference (★) on the same valid rows.",
             "", f"![valid AUC per combination, 95 % CI]({md_url(dataset + '.png')})", ""]
    if summary.reference is not None:
        lines += [f"Reference ★: {cell(summary.reference.label, 300)} — {cell(summary.reference_reason, 300)}.", ""]
    lines += ["| # | encoder | reducer | model | variant | seeds | valid AUC (mean ± std) | 95 % CI | Δ vs ★ | p | "
              "gAUC | logloss | combination |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, c in enumerate(summary.combinations, 1):
        std = f" ± {c.std:.4f}" if len(c.runs) > 1 else ""
        ci = f"[{c.ci[0]:.4f}, {c.ci[1]:.4f}]" if c.ci else "—"
        delta = "★" if c.is_reference else fmt(c.delta, "+.4f")
        variant = "; ".join(x for x in (cell(c.variant, 300), f"*{cell(c.trial.text(), 300)}*" if c.trial else "") if x)
        lines.append(f"| {i} | {cell(c.encoder)} | {cell(c.reducer_label)} | {cell(c.model)} | {variant} "
                     f"| {len(c.runs)} "
                     f"| {c.mean:.4f}{std} | {ci} | {delta} | {'' if c.is_reference else fmt_p(c.p_value)} "
                     f"| {fmt(c.mean_of('valid_gauc'))} | {fmt(c.mean_of('valid_logloss'))} | {md_code(c.key)} |")
    if summary.combinations and not summary.has_stats:
        lines += ["", "CIs and p-values need the runs' saved valid predictions; none were found for these rows."]
    if summary.oracle_auc is not None:
        lines += ["", f"Oracle valid AUC of this synthetic dataset (true click probabilities): {summary.oracle_auc:.4f}."]
    if summary.runs:
        costs = summary.cost_columns()
        lines += ["", "## Runs", "", "| encoder | reducer | model | seed | valid AUC | logloss | gAUC | epochs | "
                  + "".join(f"{heading} | " for _, heading, _ in costs) + "config |",
                  "|---|---|---|---|---|---|---|---|" + "---|" * len(costs) + "---|"]
        for r in summary.runs:
            lines.append(
                f"| {cell(r['encoder'])} | {cell(r['reducer'])} | {cell(r['model'])} | {cell(r.get('seed'))} "
                f"| {num(r['valid_auc']):.4f} | {fmt(num(r.get('valid_logloss')))} | {fmt(num(r.get('valid_gauc')))} "
                f"| {cell(r.get('epochs'))} | "
                + "".join(f"{cell(cost_cell(r.get(column), spec))} | " for column, _, spec in costs)
                + f"{md_code(r['config_hash'])} |")
    if summary.failed:
        lines += ["", "## Failed runs", "", "| encoder | reducer | model | seed | error | config |",
                  "|---|---|---|---|---|---|"]
        for r in summary.failed:
            lines.append(f"| {cell(r.get('encoder'))} | {cell(r.get('reducer'))} | {cell(r.get('model'))} "
                         f"| {cell(r.get('seed'))} | {cell(r.get('error'), 300)} | {md_code(r.get('config_hash'))} |")
    if summary.published:
        lines += ["", "## Published results (not measured by mmbench)", "",
                  "Reported by their authors on the real MicroLens-1M; "
                  + ("not comparable with synthetic data." if summary.synthetic
                     else "shown for reference, apart from the measured rows."), "",
                  "| system | what it is | valid AUC | test AUC | source | mmbench config |",
                  "|---|---|---|---|---|---|"]
        for p in summary.published:
            config = md_code(p["config"]) if p.get("config") else "—"
            lines.append(
                f"| {cell(p['system'])} *(published)* | {cell(p['description'], 300)} | {cell(p.get('valid_auc') or '—')} "
                f"| {cell(p.get('test_auc') or '—')} | {cell(p['source'], 300)} | {config} |"
            )
    return "\n".join(lines) + "\n"


def render(directory: Path, dataset: str, reference: str | None = None) -> tuple[Summary, Path]:
    """Summarise the CSV and write ``<dataset>.md`` and ``<dataset>.png`` beside it (under the lock, so
    that an older summary never overwrites a newer one). Returns the summary and the md path."""
    directory = Path(directory)
    try:
        with store.locked(directory, dataset) as path:
            return _render_locked(directory, dataset, reference, path)
    except LockTimeout as exc:  # the rows are recorded already: a board not redrawn is no failure of the run
        path = store.csv_path(directory, dataset)
        warn(f"{exc}; so {path.with_suffix('.md').name} and {path.with_suffix('.png').name} were not redrawn: "
             "`mmbench leaderboard --render` draws them")
        return summarise(store.read_rows(path), dataset, directory, reference), path.with_suffix(".md")


def _render_locked(directory: Path, dataset: str, reference: str | None, path: Path) -> tuple[Summary, Path]:
    summary = summarise(store.read_rows(path), dataset, directory, reference)
    # derived files: the rows are recorded already, so a file that cannot be drawn or written is a
    # warning, not a failure of the run that recorded them
    for target, write in ((path.with_suffix(".png"), lambda p: write_chart(p, summary)),
                          (path.with_suffix(".md"),
                           lambda p: atomic_write_bytes(p, render_markdown(summary).encode("utf-8", "replace")))):
        try:
            write(target)
        except Exception as exc:  # noqa: BLE001 - matplotlib and the file system fail in many ways
            why = getattr(exc, "strerror", None) or short(str(exc), 120)
            warn(f"{target} could not be written ({type(exc).__name__}: {why}); the rows are in "
                 f"{path.name}: `mmbench leaderboard --render` writes it again")
    return summary, path.with_suffix(".md")
