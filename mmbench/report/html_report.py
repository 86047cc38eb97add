"""The leaderboard as static web pages: one self-contained HTML file per dataset, and an index.

No server and no CDN: each page carries its CSS and a little JavaScript inline and works from
``file://`` as from any static host. The table is rendered here, in HTML (readable without
JavaScript); the script only sorts, filters, expands the per-seed runs, copies configs, and re-runs
the paired DeLong test against whichever reference the reader picks, from the runs' AUCs and their
covariance embedded in the page.

``page_model`` turns the leaderboard summary into plain data; ``render_page`` and ``render_index``
are pure functions of that data (no file access), like the markdown renderer.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import __version__
from ..files import paths
from ..output.escaping import html_text, safe_url
from .html_assets import PAGE_CSS, PAGE_JS
from ..leaderboard.render import cost_cell, fmt, fmt_p
from ..leaderboard.summary import Summary, num

#: The in-page paired test needs every run's covariance: beyond this many runs the page keeps the
#: reference the summary chose (the matrix would make the page several MB).
MAX_RUNS_FOR_REREFERENCE = 300


# ------------------------------------------------------------------------------------- the data


@dataclass
class Page:
    """Everything one dataset's page shows, as plain values (JSON-able)."""

    dataset: str
    synthetic: bool
    combos: list[dict]
    reference: str | None  # combination key
    reference_reason: str
    oracle_auc: float | None
    cost_columns: list[tuple[str, str, str]]
    failed: list[dict] = field(default_factory=list)
    published: list[dict] = field(default_factory=list)
    stats: dict | None = None  # {"aucs": [...], "cov": [[...]]} of the runs, for the in-page paired test
    n_runs: int = 0
    last_recorded: str = ""
    notes: list[str] = field(default_factory=list)


def _finite(value) -> float | None:
    v = num(value)
    return None if math.isnan(v) else v


def _config_yaml(run: dict, seeds: list[str]) -> str:
    """The run config of a combination, runnable as it is (``mmbench run FILE``)."""
    try:
        config = json.loads(run.get("config") or "{}")
    except ValueError:
        return "# the run's config could not be read from the CSV\n"
    head = (f"# mmbench run this file; seeds recorded: {' '.join(seeds)} "
            f"(another: --set train.seed=N)\n")
    return head + yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)


def _page_stats(summary: Summary, hashes: list[str]) -> tuple[dict | None, dict[str, int]]:
    """The AUCs and covariance of the page's runs, and each run's index in them."""
    paired = summary.paired
    if paired is None or len(hashes) > MAX_RUNS_FOR_REREFERENCE:
        return None, {}
    position = {h: i for i, h in enumerate(paired.hashes)}
    idx = [position[h] for h in hashes if h in position]
    stats = {"aucs": [float(paired.aucs[i]) for i in idx],
             "cov": [[float(f"{paired.cov[i, j]:.9g}") for j in idx] for i in idx]}
    return stats, {paired.hashes[i]: k for k, i in enumerate(idx)}


def page_model(summary: Summary, rows: list[dict]) -> Page:
    """The page of one dataset from its leaderboard summary (``leaderboard.summary.summarise``)."""
    runs = [r for c in summary.combinations for r in c.runs]
    cost_columns = summary.cost_columns()
    stats, position = _page_stats(summary, [r["config_hash"] for r in runs])
    combos = []
    for rank, c in enumerate(summary.combinations, 1):
        indices = [position.get(r["config_hash"]) for r in c.runs]
        combos.append({
            "key": c.key, "rank": rank, "encoder": c.encoder, "reducer": c.reducer_label, "model": c.model,
            "variant": c.variant, "label": c.label, "seeds": c.seeds, "mean": c.mean,
            "std": _finite(c.std), "ci": list(c.ci) if c.ci else None, "delta": _finite(c.delta),
            "p": _finite(c.p_value), "is_reference": c.is_reference,
            "gauc": _finite(c.mean_of("valid_gauc")), "logloss": _finite(c.mean_of("valid_logloss")),
            "cost": {key: c.cost(key) for key, _, _ in cost_columns},
            "trial": c.trial.text() if c.trial else "",
            "selected_on_valid": bool(c.trial and c.trial.selected),
            "run_index": indices if all(i is not None for i in indices) else None,
            "yaml": _config_yaml(c.runs[0], c.seeds),
            "runs": [{
                "seed": str(r.get("seed", "")), "hash": r["config_hash"], "auc": num(r.get("valid_auc")),
                "logloss": _finite(r.get("valid_logloss")), "gauc": _finite(r.get("valid_gauc")),
                "epochs": str(r.get("epochs", "")), "best_epoch": str(r.get("best_epoch", "")),
                "timestamp": str(r.get("timestamp", "")),
                "cost": {key: r.get(key, "") for key, _, _ in cost_columns},
            } for r in c.runs],
        })
    stamps = sorted(str(r.get("timestamp", "")) for r in rows if r.get("timestamp"))
    return Page(
        dataset=summary.dataset, synthetic=summary.synthetic, combos=combos,
        reference=summary.reference.key if summary.reference is not None else None,
        reference_reason=summary.reference_reason, oracle_auc=summary.oracle_auc, cost_columns=cost_columns,
        failed=[{k: str(r.get(k, "")) for k in ("encoder", "reducer", "model", "seed", "error", "config_hash")}
                for r in summary.failed],
        published=summary.published, stats=stats, n_runs=len(runs), last_recorded=stamps[-1] if stamps else "",
        notes=[] if summary.has_stats or not combos else
        ["CIs and p-values need the runs' saved valid predictions; none were found for these rows."],
    )


# --------------------------------------------------------------------------------- formatting

_e = html_text


def _link(target: str, text: str) -> str:
    url = safe_url(target)
    return f'<a href="{_e(url)}">{_e(text)}</a>' if url is not None else _e(text)


def _attr_num(value) -> str:
    """A number for a data- attribute the script sorts on; empty when there is none."""
    v = _finite(value) if not isinstance(value, str) else _finite(value or None)
    return "" if v is None else repr(v)


# ------------------------------------------------------------------------------ the CI picture


@dataclass
class Scale:
    lo: float
    hi: float
    width: int = 220

    @classmethod
    def of(cls, page: Page) -> "Scale":
        """The runs' range (means, CIs, seeds), padded. Not the oracle: far above the runs, it would
        squeeze every CI bar into a few pixels; it is drawn where it falls inside, else marked at the edge."""
        values = []
        for c in page.combos:
            values += [c["mean"]] + (c["ci"] or []) + [r["auc"] for r in c["runs"]]
        values = [v for v in values if v is not None and not math.isnan(v)]
        if not values:
            return cls(0.5, 1.0)
        lo, hi = min(values), max(values)
        pad = max((hi - lo) * 0.08, 0.002)
        return cls(lo - pad, hi + pad)

    def x(self, value: float) -> float:
        return round(14 + (value - self.lo) / (self.hi - self.lo) * (self.width - 28), 2)

    def inside(self, value: float | None) -> bool:
        return value is not None and self.lo <= value <= self.hi

    def ticks(self, n: int = 5) -> list[tuple[float, str]]:
        """About ``n`` round values inside the range (steps of 1, 2 or 5 times a power of ten), labelled."""
        raw = (self.hi - self.lo) / n
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
        decimals = max(0, -math.floor(math.log10(step)))
        first = math.ceil(self.lo / step)
        values = [k * step for k in range(first, math.floor(self.hi / step) + 1)]
        return [(v, f"{v:.{decimals}f}") for v in values]


def _ci_svg(c: dict, scale: Scale, oracle: float | None) -> str:
    h, y = 18, 9
    parts = [f'<svg class="ci" width="{scale.width}" height="{h}" role="img" '
             f'aria-label="{_e(_ci_label(c))}">']
    if scale.inside(oracle):
        x = scale.x(oracle)
        parts.append(f'<line class="oracle-line" x1="{x}" x2="{x}" y1="0" y2="{h}"/>')
    if c["ci"]:
        x0, x1 = scale.x(c["ci"][0]), scale.x(c["ci"][1])
        parts.append(f'<line class="error-bar" x1="{x0}" x2="{x1}" y1="{y}" y2="{y}"/>')
        parts += [f'<line class="error-cap" x1="{x}" x2="{x}" y1="{y - 4}" y2="{y + 4}"/>' for x in (x0, x1)]
    for r in c["runs"]:
        parts.append(f'<circle class="seed-dot" cx="{scale.x(r["auc"])}" cy="{y}" r="2"/>')
    parts.append(f'<circle class="mean-dot{" ref" if c["is_reference"] else ""}" cx="{scale.x(c["mean"])}" '
                 f'cy="{y}" r="3.5"/>')
    parts.append("</svg>")
    return "".join(parts)


def _ci_label(c: dict) -> str:
    ci = f"95 % CI [{c['ci'][0]:.4f}, {c['ci'][1]:.4f}]" if c["ci"] else "no CI"
    return f"mean {c['mean']:.4f}, {ci}, {len(c['runs'])} seed(s)"


def _axis_svg(scale: Scale, oracle: float | None) -> str:
    h = 22
    parts = [f'<svg class="axis" width="{scale.width}" height="{h}" aria-hidden="true">']
    for value, label in scale.ticks():
        x = scale.x(value)
        parts.append(f'<line x1="{x}" x2="{x}" y1="{h - 5}" y2="{h}"/>'
                     f'<text x="{x}" y="{h - 8}" text-anchor="middle">{label}</text>')
    if scale.inside(oracle):
        x = scale.x(oracle)
        parts.append(f'<line class="oracle-line" x1="{x}" x2="{x}" y1="0" y2="{h}"/>')
    elif oracle is not None:  # outside the runs' range: a marker at the edge it lies beyond
        right = oracle > scale.hi
        x, anchor = (scale.width - 1, "end") if right else (1, "start")
        text = f"oracle {oracle:.3f} →" if right else f"← oracle {oracle:.3f}"
        parts.append(f'<text class="oracle-mark" x="{x}" y="8" text-anchor="{anchor}">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------- the page


def _select(ident: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in sorted(set(values)))
    return (f'<label>{_e(label)} <select id="{ident}" data-filter="{_e(label)}">'
            f'<option value="">all</option>{options}</select></label>')


def _reference_select(page: Page) -> str:
    options = "".join(
        f'<option value="{_e(c["key"])}"{" selected" if c["key"] == page.reference else ""}>{_e(c["label"])}</option>'
        for c in page.combos)
    disabled = "" if page.stats is not None else " disabled"
    why = "" if page.stats is not None else (
        ' <span class="muted">(fixed: choose another with <code>mmbench leaderboard --reference</code>)</span>')
    return f'<label>reference ★ <select id="reference"{disabled}>{options}</select></label>{why}'


def _header(page: Page, scale: Scale) -> str:
    cols = [("", "", ""), ("rank", "#", "num"), ("encoder", "encoder", "str"), ("reducer", "reducer", "str"),
            ("model", "model", "str")] + ([("variant", "variant", "str")] if _has_variants(page) else []) + [
            ("nseeds", "seeds", "num"),
            ("mean", "valid AUC (mean ± std)", "num"), ("ci", "95 % CI", "num"), ("delta", "Δ vs ★", "num"),
            ("p", "p", "num"), ("gauc", "gAUC", "num"), ("logloss", "logloss", "num")]
    cols += [(f"cost-{key}", heading, "num" if spec else "str") for key, heading, spec in page.cost_columns]
    cols += [("key", "combination", "str")]
    cells = []
    for key, heading, kind in cols:
        if not key:
            cells.append('<th scope="col"><span class="visually-hidden">runs</span></th>')
        elif key == "ci":
            cells.append(f'<th scope="col" data-sort="lo" data-type="num" class="ci-col">{_e(heading)}'
                         f'<br>{_axis_svg(scale, page.oracle_auc)}</th>')
        else:
            cells.append(f'<th scope="col" data-sort="{key}" data-type="{kind}">{_e(heading)}</th>')
    return "<thead><tr>" + "".join(cells) + "</tr></thead>", len(cols)


def _has_variants(page: Page) -> bool:
    return any(c["variant"] or c["trial"] for c in page.combos)


def _combo_body(c: dict, page: Page, scale: Scale, ncols: int) -> str:
    attrs = {
        "key": c["key"], "rank": c["rank"], "encoder": c["encoder"], "reducer": c["reducer"], "model": c["model"],
        "variant": c["variant"], "nseeds": len(c["runs"]), "mean": _attr_num(c["mean"]),
        "lo": _attr_num(c["ci"][0]) if c["ci"] else "", "delta": _attr_num(c["delta"]), "p": _attr_num(c["p"]),
        "gauc": _attr_num(c["gauc"]), "logloss": _attr_num(c["logloss"]),
        "runs": " ".join(map(str, c["run_index"])) if c["run_index"] is not None else "",
    }
    for key, _, spec in page.cost_columns:
        attrs[f"cost-{key}"] = _attr_num(c["cost"][key]) if spec else c["cost"][key]
    data = " ".join(f'data-{k}="{_e(v)}"' for k, v in attrs.items())
    std = f" ± {c['std']:.4f}" if c["std"] is not None else ""
    ci_text = f"[{c['ci'][0]:.4f}, {c['ci'][1]:.4f}]" if c["ci"] else "—"
    badge = (f' <span class="badge{" selected" if c["selected_on_valid"] else ""}" title="{_e(c["trial"])}">'
             f'{"selected on valid" if c["selected_on_valid"] else "trial"}</span>') if c["trial"] else ""
    cost_cells = "".join(f'<td class="num cost">{_e(cost_cell(c["cost"][key], spec))}</td>'
                         for key, _, spec in page.cost_columns)
    main = (
        f'<tr class="main{" reference" if c["is_reference"] else ""}">'
        f'<td><button class="expand" aria-expanded="false" title="per-seed runs">▸</button></td>'
        f'<td class="num">{c["rank"]}</td><td>{_e(c["encoder"])}</td><td>{_e(c["reducer"])}</td>'
        f'<td>{_e(c["model"])}</td>'
        + (f'<td class="variant">{_e(c["variant"])}{badge}</td>' if _has_variants(page) else "")
        + f'<td class="num">{len(c["runs"])}</td>'
        f'<td class="num auc">{c["mean"]:.4f}{std}</td>'
        f'<td class="ci-col" title="{_e(ci_text)}">{_ci_svg(c, scale, page.oracle_auc)}<span class="ci-text">{ci_text}</span></td>'
        f'<td class="num delta">{"★" if c["is_reference"] else fmt(c["delta"], "+.4f")}</td>'
        f'<td class="num p">{"" if c["is_reference"] else fmt_p(c["p"])}</td>'
        f'<td class="num">{fmt(c["gauc"])}</td><td class="num">{fmt(c["logloss"])}</td>{cost_cells}'
        f'<td><code>{_e(c["key"])}</code> <button class="show-config" aria-expanded="false">config</button></td></tr>'
    )
    run_rows = []
    for r in sorted(c["runs"], key=lambda r: -r["auc"]):
        run_cost = "".join(f'<td class="num cost">{_e(cost_cell(r["cost"][key], spec))}</td>'
                           for key, _, spec in page.cost_columns)
        run_rows.append(
            f'<tr class="run" hidden><td></td><td></td><td colspan="{3 + _has_variants(page)}" class="muted">'
            f'seed {_e(r["seed"])} · '
            f'{_e(r["timestamp"])}</td><td class="num">1</td><td class="num">{r["auc"]:.4f}</td>'
            f'<td class="muted">epochs {_e(r["epochs"])} (best {_e(r["best_epoch"])})</td><td></td><td></td>'
            f'<td class="num">{fmt(r["gauc"])}</td><td class="num">{fmt(r["logloss"])}</td>{run_cost}'
            f'<td><code>{_e(r["hash"])}</code></td></tr>')
    trial_line = f'<p class="muted">{_e(c["trial"])}</p>' if c["trial"] else ""
    config = (f'<tr class="config" hidden><td></td><td colspan="{ncols - 1}">{trial_line}'
              f'<button class="copy">copy YAML</button><pre>{_e(c["yaml"])}</pre></td></tr>')
    return f'<tbody class="combo" {data}>{main}{"".join(run_rows)}{config}</tbody>'


def _published_section(page: Page) -> str:
    if not page.published:
        return ""
    caveat = ("not comparable with this synthetic dataset; listed for orientation only."
              if page.synthetic else "shown for reference, apart from the measured rows.")
    rows = "".join(
        f'<tr><td>{_e(p.get("system", ""))} <span class="badge published">published</span></td>'
        f'<td class="wrap">{_e(p.get("description", ""))}</td><td class="num">{fmt(p.get("valid_auc"))}</td>'
        f'<td class="num">{fmt(p.get("test_auc"))}</td><td>{_e(p.get("source", ""))}</td></tr>'
        for p in page.published)
    return (f'<section id="published"><h2>Published results (not measured by mmbench)</h2>'
            f'<p>Reported by their authors on the real MicroLens-1M; {caveat}</p>'
            f'<div class="scroll"><table class="plain"><thead><tr><th>system</th><th>what it is</th><th>valid AUC</th><th>test AUC</th>'
            f'<th>source</th></tr></thead><tbody>{rows}</tbody></table></div></section>')


def _failed_section(page: Page) -> str:
    if not page.failed:
        return ""
    rows = "".join(
        f'<tr><td>{_e(r["encoder"])}</td><td>{_e(r["reducer"])}</td><td>{_e(r["model"])}</td><td>{_e(r["seed"])}</td>'
        f'<td class="wrap">{_e(r["error"])}</td><td><code>{_e(r["config_hash"])}</code></td></tr>' for r in page.failed)
    return (f'<section id="failed"><h2>Failed runs</h2><div class="scroll"><table class="plain"><thead><tr>'
            f'<th>encoder</th><th>reducer</th><th>model</th><th>seed</th><th>error</th><th>config</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></div></section>')


def _json_script(ident: str, value) -> str:
    # no <, > or & at all inside the script element: nothing in a value can end it or open a comment
    text = json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{ident}">{text}</script>'


def _document(title: str, body: str, script: str = "") -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="mmbench {_e(__version__)}"><title>{_e(title)}</title>'
            f'<style>{PAGE_CSS}</style></head><body>{body}{script}</body></html>\n')


def render_page(page: Page) -> str:
    """One dataset's leaderboard as a complete, self-contained HTML document."""
    scale = Scale.of(page)
    thead, ncols = _header(page, scale)
    bodies = "".join(_combo_body(c, page, scale, ncols) for c in page.combos)
    ref = next((c for c in page.combos if c["key"] == page.reference), None)
    ref_line = (f'<p id="reference-line">Reference ★: <strong id="reference-label">{_e(ref["label"])}</strong> — '
                f'<span id="reference-reason">{_e(page.reference_reason)}</span>.</p>') if ref else ""
    oracle = (f'<p class="oracle-note"><svg width="18" height="10" aria-hidden="true"><line class="oracle-line" '
              f'x1="9" x2="9" y1="0" y2="10"/></svg> Oracle valid AUC of this synthetic dataset (true click '
              f'probabilities): <strong>{page.oracle_auc:.4f}</strong>.</p>') if page.oracle_auc is not None else ""
    notes = "".join(f'<p class="muted">{_e(n)}</p>' for n in page.notes)
    body = (
        f'<header><nav><a href="./index.html">all datasets</a></nav><h1>Leaderboard: {_e(page.dataset)}</h1>'
        f'<p>Measured by mmbench, rendered from <code>{_e(page.dataset)}.csv</code> ({page.n_runs} runs'
        + (f', last recorded {_e(page.last_recorded)}' if page.last_recorded else "") + '). '
        'One row per combination (encoder × reducer × model × hyper-parameters): valid AUC as mean ± std over '
        'its seeds; <b>95 % CI</b>: DeLong, of that seed-mean, from the saved valid predictions (bar; dots are '
        'the seeds); <b>Δ and p</b>: paired DeLong test against the reference ★ on the same valid rows. '
        'Click a heading to sort, ▸ for the per-seed runs, <i>config</i> for the run config as YAML.</p></header>'
        f'<section id="controls">{_select("f-encoder", "encoder", [c["encoder"] for c in page.combos])}'
        f'{_select("f-reducer", "reducer", [c["reducer"] for c in page.combos])}'
        f'{_select("f-model", "model", [c["model"] for c in page.combos])}'
        f'<label>search <input id="f-text" type="search" placeholder="any text"></label>'
        f'{_reference_select(page)} <span id="shown" class="muted"></span></section>'
        f'{ref_line}{oracle}<div class="scroll"><table id="board">{thead}{bodies}</table></div>{notes}'
        f'{_failed_section(page)}{_published_section(page)}'
        f'<footer class="muted">mmbench {_e(__version__)} · measured rows only; published numbers are labelled '
        f'as such and never mixed in.</footer>'
    )
    script = _json_script("paired-stats", page.stats) + f"<script>{PAGE_JS}</script>"
    return _document(f"mmbench leaderboard: {page.dataset}", body, script)


@dataclass
class IndexEntry:
    dataset: str
    href: str
    n_combinations: int
    n_runs: int
    best_label: str
    best_auc: float | None
    oracle_auc: float | None
    last_recorded: str


def index_entry(page: Page, href: str) -> IndexEntry:
    best = page.combos[0] if page.combos else None
    return IndexEntry(page.dataset, href, len(page.combos), page.n_runs, best["label"] if best else "—",
                      best["mean"] if best else None, page.oracle_auc, page.last_recorded)


def render_index(entries: list[IndexEntry]) -> str:
    rows = "".join(
        f'<tr><td>{_link(e.href, e.dataset)}</td><td class="num">{e.n_combinations}</td>'
        f'<td class="num">{e.n_runs}</td><td>{_e(e.best_label)}</td><td class="num">{fmt(e.best_auc)}</td>'
        f'<td class="num">{fmt(e.oracle_auc)}</td><td>{_e(e.last_recorded)}</td></tr>' for e in entries)
    body = (
        '<header><h1>mmbench leaderboards</h1><p>One page per dataset; every number is a measured run '
        '(published results are listed apart on each page).</p></header>'
        '<div class="scroll"><table class="plain" id="datasets"><thead><tr><th>dataset</th><th>combinations</th><th>runs</th>'
        '<th>best combination</th><th>its valid AUC</th><th>oracle AUC</th><th>last recorded</th></tr></thead>'
        f'<tbody>{rows}</tbody></table></div>'
        f'<footer class="muted">mmbench {_e(__version__)}</footer>'
    )
    return _document("mmbench leaderboards", body)


# ------------------------------------------------------------------------------- writing a site


def dataset_page(directory: Path, dataset: str, reference: str | None = None, all_trials: bool = False) -> Page:
    """Read one dataset's leaderboard (CSV, saved predictions, published results) into its page."""
    from ..leaderboard import store
    from ..leaderboard.summary import summarise

    rows = store.read_rows(store.csv_path(directory, dataset))
    return page_model(summarise(rows, dataset, Path(directory), reference, all_trials), rows)


def write_site(out: Path, pages: list[Page], only: set[str] | None = None) -> list[Path]:
    """``out/<dataset>.html`` for each page (or those in ``only``) and ``out/index.html`` listing all
    of them; each file written atomically."""
    from ..files.atomic import atomic_write_text

    out = Path(out)
    written, entries = [], []
    for page in pages:
        path = paths.inside(out, page.dataset, "dataset id", ".html")
        if only is None or page.dataset in only:
            atomic_write_text(path, render_page(page))
            written.append(path)
        entries.append(index_entry(page, path.name))
    index = out / "index.html"
    atomic_write_text(index, render_index(entries))
    for path in [index] + written:  # a static host serves them as another user
        path.chmod(0o644)
    return [index] + written
