"""Stopping rules replayed on the curves of bench/anomaly_curves.py, family by family.

A rule sees one curve's label-free statistics (entropy, training loss, steps per epoch) and
names the epoch whose weights the Detector would keep; the table reports the ROC-AUC at that
epoch, averaged per family and pooled, next to the last epoch (today's default) and the best
epoch in hindsight (which needs the labels: a ceiling, not a rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Curve = dict[str, Any]
Rule = Callable[[Curve], int]  # index into curve["points"]


def entropy_stop(key: str, patience_steps: int, min_epochs: int, drop: float) -> Rule:
    """EntropyStop: keep the lowest entropy that fell by more than `drop` × the path since the
    last minimum; stop after `patience_steps` optimiser steps (at least `min_epochs` epochs)
    without a new one."""

    def rule(c: Curve) -> int:
        h = [p[key] for p in c["points"]]
        patience = max(min_epochs, math.ceil(patience_steps / c["steps_per_epoch"]))
        best, best_i, path, waited = h[0], 0, 0.0, 0
        for i in range(1, len(h)):
            path += abs(h[i] - h[i - 1])
            if h[i] < best and (best - h[i]) > drop * path:
                best, best_i, path, waited = h[i], i, 0.0, 0
            else:
                waited += 1
                if waited >= patience:
                    break
        return best_i

    return rule


def argmin(key: str) -> Rule:
    """The epoch of the lowest statistic over the whole run."""
    return lambda c: int(np.argmin([p[key] for p in c["points"]]))


def last(c: Curve) -> int:
    """Today's default: the last epoch."""
    return len(c["points"]) - 1


def fixed_steps(steps: int) -> Rule:
    """Stop after about `steps` optimiser steps (or at the last epoch)."""
    return lambda c: min(len(c["points"]), max(1, round(steps / c["steps_per_epoch"]))) - 1


def epoch_rule(epochs: int, floor_steps: int, budget: int = 10_000) -> Rule:
    """`default_epochs` with its parts as parameters: `epochs`, but at most about `budget` steps,
    at least `floor_steps` steps and at least 5 epochs."""

    def rule(c: Curve) -> int:
        spe = c["steps_per_epoch"]
        e = max(min(epochs, math.ceil(budget / spe)), math.ceil(floor_steps / spe), 5)
        return min(len(c["points"]), e) - 1

    return rule


def hindsight(c: Curve) -> int:
    """The best epoch by ROC-AUC (uses the labels: a ceiling)."""
    return int(np.argmax([p["auc"] for p in c["points"]]))


RULES: dict[str, Rule] = {
    "last epoch (default)": last,
    "hindsight best (labels)": hindsight,
    "argmin h_fn": argmin("h_fn"),
    "argmin h_mse": argmin("h_mse"),
    **{
        f"entropy {key} k={k} steps R={r}": entropy_stop(key, k, 3, r)
        for key in ("h_fn", "h_mse")
        for k in (100, 300, 1000)
        for r in (0.01, 0.1)
    },
    **{f"fixed {s} steps": fixed_steps(s) for s in (200, 500, 1000)},
    **{
        f"{e} epochs, floor {f} steps": epoch_rule(e, f)
        for e in (10, 20, 30, 40, 80)
        for f in (0, 2000)
    },
}


def _figures(curves: list[Curve], rule: Rule, metric: str) -> dict[str, tuple[float, float]]:
    """Per family (and pooled): mean `metric` at the rule's epoch, mean steps trained."""
    by_family: dict[str, list[tuple[float, float]]] = {}
    for c in curves:
        i = rule(c)
        point = (c["points"][i][metric], (i + 1) * c["steps_per_epoch"])
        by_family.setdefault(c["family"], []).append(point)
        by_family.setdefault("pooled", []).append(point)
    return {
        f: (float(np.mean([a for a, _ in v])), float(np.mean([s for _, s in v])))
        for f, v in by_family.items()
    }


def simulate(curves: list[Curve], metric: str = "auc") -> None:
    """Print every rule's per-family mean `metric` (and mean steps) on the curves."""
    families = [
        f for f in ("tabular", "sklearn", "embeddings") if any(c["family"] == f for c in curves)
    ]
    columns = [*families, "pooled"]
    print("| rule | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, rule in RULES.items():
        figures = _figures(curves, rule, metric)
        cells = [f"{figures[f][0]:.3f} ({figures[f][1]:.0f} steps)" for f in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
