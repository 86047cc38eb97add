"""The leaderboard chart: valid AUC per combination with its 95 % CI, seeds as dots (matplotlib, Agg).

Published numbers are drawn in a panel of their own, labelled *published*, and only for the real
dataset: on synthetic data they are not comparable and the chart says so instead.
"""
from __future__ import annotations

from pathlib import Path

from ..files.atomic import atomic_path


def write_chart(path: Path, summary) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    combos = list(reversed(summary.combinations))  # best on top
    oracle_auc = summary.oracle_auc
    shown_published = [p for p in summary.published if p.get("valid_auc")] if not summary.synthetic else []
    n_rows = max(len(combos), 3)
    heights = [n_rows, max(len(shown_published), 1)] if shown_published else [n_rows]
    labels = [("★ " if c.is_reference else "") + c.label for c in combos]
    width = 7 + 0.07 * max((len(lb) for lb in labels), default=0)  # room for long labels
    fig, axes = plt.subplots(len(heights), 1, figsize=(width, 1.6 + 0.34 * sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights}, sharex=bool(shown_published))
    ax = axes[0][0]
    for y, c in enumerate(combos):
        color = "tab:red" if c.is_reference else "tab:blue"
        if c.ci:
            ax.errorbar(c.mean, y, xerr=[[c.mean - c.ci[0]], [c.ci[1] - c.mean]], fmt="o", color=color,
                        capsize=3, markersize=5, zorder=3)
        else:
            ax.plot(c.mean, y, "o", color=color, zorder=3)
        ax.scatter(c.aucs, [y] * len(c.runs), s=10, color="black", alpha=0.5, zorder=4)
    ax.set_yticks(range(len(combos)))
    ax.set_yticklabels(labels, fontsize=7)
    if oracle_auc:
        ax.axvline(oracle_auc, color="tab:green", linestyle="--", linewidth=1,
                   label=f"oracle AUC of the synthetic data ({oracle_auc:.4f})")
        ax.legend(loc="lower right", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    title = f"{summary.dataset}: valid AUC (mean over seeds, 95 % DeLong CI; dots = seeds)"
    if summary.synthetic:
        title += "\npublished results (real MicroLens-1M) not shown: not comparable with synthetic data"
    fig.suptitle(title, fontsize=9)
    if not shown_published:
        ax.set_xlabel("valid AUC")
    else:
        pax = axes[1][0]
        for y, p in enumerate(reversed(shown_published)):
            pax.plot(float(p["valid_auc"]), y, "D", color="tab:gray")
        pax.set_yticks(range(len(shown_published)))
        pax.set_yticklabels([f"{p['system']} (published)" for p in reversed(shown_published)], fontsize=7)
        pax.set_title("published (reported by their authors, not measured by mmbench)", fontsize=8)
        pax.grid(axis="x", alpha=0.3)
        pax.set_xlabel("valid AUC")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
