"""Compare Hourglass runs of bench/anomaly.py (--json files) family by family, by issue 16's rule.

    python bench/anomaly_compare.py REFERENCE.json CANDIDATE.json [MORE.json …] [--per-set]
    python bench/anomaly_compare.py seed0.json+seeds12.json CANDIDATE.json   # joined runs

For each candidate: the seed-averaged mean ROC-AUC per family and pooled (over the sets and
seeds both runs have), its delta from the reference, and the verdict of the rule: keep a change
when every family's mean improves, or when none falls by more than 0.005 while the pooled mean
rises. With --baselines FILE, the baselines' family means are printed too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from anomaly_data import FAMILIES
from anomaly_report import Record, of

TOLERANCE = 0.005


def load(path: Path) -> list[Record]:
    """The records of one --json file, or of several joined by `+` (e.g. seed 0 + seeds 1, 2)."""
    parts = [Path(p) for p in str(path).split("+")]
    return [Record.from_dict(r) for p in parts for r in json.loads(p.read_text())["records"]]


def table(
    records: list[Record], detector: str = "hourglass"
) -> dict[tuple[str, str, int | None], float]:
    """(family, dataset, seed) → ROC-AUC of one detector."""
    return {(r.family, r.dataset, r.seed): r.auc for r in of(records, detector)}


def family_means(
    aucs: dict[tuple[str, str, int | None], float], keys: set[tuple[str, str, int | None]]
) -> dict[str, float]:
    """Per family and pooled: the mean over seeds of the per-seed mean over sets."""
    out: dict[str, float] = {}
    for family in (*FAMILIES, "pooled"):
        chosen = [k for k in keys if family in ("pooled", k[0])]
        seeds = sorted({k[2] for k in chosen}, key=lambda s: -1 if s is None else s)
        per_seed = [np.mean([aucs[k] for k in chosen if k[2] == s]) for s in seeds]
        if per_seed:
            out[family] = float(np.mean(per_seed))
    return out


def verdict(deltas: dict[str, float]) -> str:
    """Issue 16's rule on the per-family deltas (and the pooled one)."""
    families = [f for f in deltas if f != "pooled"]
    if all(deltas[f] > 0 for f in families):
        return "keep (every family improves)"
    if all(deltas[f] >= -TOLERANCE for f in families) and deltas.get("pooled", 0) > 0:
        return "keep (none falls by more than 0.005, pooled rises)"
    return "drop"


def compare(reference: list[Record], candidate: list[Record], per_set: bool) -> None:
    """Print the candidate's means, deltas and verdict against the reference."""
    ref, cand = table(reference), table(candidate)
    keys = set(ref) & set(cand)
    if not keys:
        print("  no (set, seed) pair in common")
        return
    a, b = family_means(ref, keys), family_means(cand, keys)
    deltas = {f: b[f] - a[f] for f in b}
    cells = [f"{f} {a[f]:.3f} → {b[f]:.3f} ({deltas[f]:+.3f})" for f in b]
    print("  " + "; ".join(cells))
    print(f"  {len(keys)} (set, seed) pairs; verdict: {verdict(deltas)}")
    if per_set:
        for family, dataset in sorted({(k[0], k[1]) for k in keys}):
            ks = [k for k in keys if k[:2] == (family, dataset)]
            before, after = np.mean([ref[k] for k in ks]), np.mean([cand[k] for k in ks])
            print(f"    {family} {dataset}: {before:.3f} → {after:.3f} ({after - before:+.3f})")


def main(argv: list[str] | None = None) -> None:
    """Compare every candidate with the reference."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("candidates", type=Path, nargs="+")
    parser.add_argument("--per-set", action="store_true")
    parser.add_argument("--baselines", type=Path)
    args = parser.parse_args(argv)
    reference = load(args.reference)
    if args.baselines is not None:
        base = load(args.baselines)
        for name in ("iforest", "pyod_ae", "ecod", "pca"):
            aucs = table(base, name)
            means = family_means(aucs, set(aucs))
            print(f"{name}: " + "; ".join(f"{f} {v:.3f}" for f, v in means.items()))
    for path in args.candidates:
        print(f"{path.name} against {args.reference}:")
        compare(reference, load(path), args.per_set)


if __name__ == "__main__":
    main()
