"""Screen ensembles offline: combine the saved scores of bench/anomaly.py runs (--save-scores).

    python bench/anomaly_combine.py bench/results/scores/r1 bench/results/scores/r2 [...]

Each member's scores are robust-standardised — (score − median) / IQR over all rows, which in
the fit-all protocol are nearly the training rows the engine would use — and averaged. Prints
the per-family and pooled mean ROC-AUC of every member alone and of the combination, over the
(set, seed) pairs every directory has.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from anomaly_data import FAMILIES, family_sets
from sklearn.metrics import roc_auc_score


def standardise(scores: np.ndarray) -> np.ndarray:
    """(scores − median) / interquartile range (1 when the range is 0)."""
    q25, median, q75 = np.percentile(scores, [25, 50, 75])
    return (scores - median) / (q75 - q25 if q75 > q25 else 1.0)


def main(argv: list[str] | None = None) -> None:
    """Print the members' and the combination's family means."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("members", type=Path, nargs="+")
    args = parser.parse_args(argv)
    labels = {d.name: (d.family, d.y) for f in FAMILIES for d in family_sets(f)}
    files = [{p.name: p for p in m.glob("*.npy")} for m in args.members]
    common = sorted(set.intersection(*(set(f) for f in files)))
    names = [m.name for m in args.members] + ["combined"]
    aucs: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for key in common:
        family, y = labels[key.split(".seed")[0]]
        scores = [np.load(f[key], allow_pickle=False).astype(np.float64) for f in files]
        combined = np.mean([standardise(s) for s in scores], axis=0)
        for name, s in zip(names, [*scores, combined], strict=True):
            for group in (family, "pooled"):
                aucs[name].setdefault(group, []).append(float(roc_auc_score(y, s)))
    groups = [g for g in (*FAMILIES, "pooled") if g in aucs["combined"]]
    print(f"{len(common)} (set, seed) pairs")
    print("| member | " + " | ".join(groups) + " |\n|---|" + "---|" * len(groups))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{np.mean(aucs[name][g]):.3f}" for g in groups) + " |")


if __name__ == "__main__":
    main()
