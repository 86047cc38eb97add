"""Rows that are trials of a tuning study, and the view that keeps only each study's best trial.

``mmbench tune`` records every finished trial as an ordinary measured row, marked with the study's
name and the trial's number (columns ``study`` and ``trial``). A study of 20 trials would otherwise
fill a leaderboard with 20 near-duplicates; by default the summaries keep, per study and
(encoder, reducer, model), the trial with the best mean valid AUC, and say that it was selected on
valid (so its valid AUC is optimistically biased).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class TrialNote:
    """What a leaderboard says about a combination that is the best trial of a study."""

    study: str
    trial: int
    n_trials: int  # trials of this study with the same encoder / reducer / model
    selected: bool  # kept as the best of them (on valid)
    other_runs: int = 0  # runs of the same config outside the study (e.g. reruns with other seeds)

    def text(self) -> str:
        others = f", plus {self.other_runs} run(s) of its config outside the study" if self.other_runs else ""
        if not self.selected:
            return f"trial {self.trial} of study '{self.study}' ({self.n_trials} trials){others}"
        optimistic = "the trial's valid AUC is optimistic" if self.other_runs else "its valid AUC is optimistic"
        return (f"best of {self.n_trials} finished trials of study '{self.study}' (trial {self.trial}), "
                f"selected on valid{others}: {optimistic}")


def _ok_auc(row: dict) -> float:
    if row.get("status") not in ("ok", "", None):
        return float("nan")
    try:
        return float(row.get("valid_auc"))
    except (TypeError, ValueError):
        return float("nan")


def _groups(rows: list[dict], key: Callable[[dict], str]) -> dict[tuple, dict[str, list[dict]]]:
    """(study, encoder, reducer, model) -> {combination key: its trial rows}."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        if r.get("study"):
            group = groups.setdefault((r["study"], r.get("encoder"), r.get("reducer"), r.get("model")), {})
            group.setdefault(key(r), []).append(r)
    return groups


def _trial_number(row: dict) -> int:
    text = str(row.get("trial", ""))
    return int(text) if text.lstrip("-").isdigit() else -1


def trial_view(rows: list[dict], key: Callable[[dict], str],
               best_only: bool = True) -> tuple[list[dict], dict[str, TrialNote]]:
    """(rows, {combination key: note}) with, if ``best_only``, each study's trials reduced to its best
    per (encoder, reducer, model) by mean valid AUC. ``key`` maps a row to its combination key. Rows that are not trials pass unchanged; a study's failed or losing trials are left out."""
    dropped: set[int] = set()
    notes: dict[str, TrialNote] = {}
    for (study, *_), by_combo in _groups(rows, key).items():
        def mean_auc(combo: str) -> float:
            aucs = [a for a in map(_ok_auc, by_combo[combo]) if not math.isnan(a)]
            return sum(aucs) / len(aucs) if aucs else float("-inf")

        best = max(by_combo, key=mean_auc)
        if mean_auc(best) == float("-inf"):
            best = None
        for combo, members in by_combo.items():
            if best_only and combo != best:
                dropped.update(id(r) for r in members)
            else:
                notes[combo] = TrialNote(study, _trial_number(members[0]), len(by_combo), combo == best)
    return [r for r in rows if id(r) not in dropped], notes
