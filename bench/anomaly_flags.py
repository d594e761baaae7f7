"""What the flags do at alpha, with and without the fence (issue 11): README "Flags on data that
contains anomalies".

    python bench/anomaly_flags.py                    # 41 sets, seed 0: ~15 minutes on 2 cores
    python bench/anomaly_flags.py --family tabular --sets cardio,thyroid

For every set of bench/anomaly_data.py: one default fit without the fence (`calibration.fence`
null), every row scored; the fence only changes which held-out scores calibrate, so each fence is
then applied to the same held-out scores (`Calibration.held_out`, the default's 3.5 included,
which is exactly what a default fit gives) and the rows flagged at alpha 0.01 and 0.05 are
counted against the labels, with the labels' own held-out inliers as an oracle calibration. Then
the clean-data promise: a fit on 60 % of the inliers, the share of the other 40 % flagged, every
held-out row against the default fence. Prints one line per set and the means.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from anomaly_data import FAMILIES, Dataset, family_sets
from sklearn.metrics import roc_auc_score

from models import Detector, DetectorConfig
from models.calibration import Calibration, rows_to_reach
from models.split import split_rows

FENCES = (None, 3.0, 3.5, 4.0, 5.0)
ALPHAS = (0.01, 0.05)
NO_FENCE = DetectorConfig.from_dict({"calibration": {"fence": None}})


@dataclass(frozen=True)
class Flags:
    """Shares of the labelled anomalies and of the inliers flagged."""

    anomalies: float
    inliers: float


def flagged(calibration: Calibration, scores: np.ndarray, y: np.ndarray, alpha: float) -> Flags:
    flags = calibration.p_values(scores) <= alpha
    return Flags(float(flags[y == 1].mean()), float(flags[y == 0].mean()))


@dataclass(frozen=True)
class SetFlags:
    """One set: its ROC-AUC, held-out rows, and per fence (and the oracle) the flags at each
    alpha and the held-out rows it left out."""

    auc: float
    held_out: int
    flags: dict[str, list[Flags]]
    excluded: dict[str, int]


def contaminated(data: Dataset) -> SetFlags:
    """One fit on every row; the flags of each fence, and of the oracle, at each alpha."""
    detector = Detector(NO_FENCE).fit(data.x)
    scores = detector.score(data.x)
    held = split_rows(data.x.shape[0], detector.config_, seed=0).calibration
    keep = rows_to_reach(detector.config_.calibration.alpha)
    flags, excluded = {}, {}
    for fence in FENCES:
        calibration = Calibration.held_out(scores[held], fence=fence, keep=keep)
        flags[f"fence {fence}"] = [flagged(calibration, scores, data.y, a) for a in ALPHAS]
        excluded[f"fence {fence}"] = calibration.excluded
    oracle = Calibration.from_scores(scores[held][data.y[held] == 0])
    flags["oracle"] = [flagged(oracle, scores, data.y, a) for a in ALPHAS]
    return SetFlags(float(roc_auc_score(data.y, scores)), int(held.size), flags, excluded)


def clean(data: Dataset) -> dict[str, list[float]]:
    """Trained on 60 % of the inliers: the other 40 % flagged, without and with the fence."""
    inliers = data.x[data.y == 0]
    order = np.random.default_rng(0).permutation(inliers.shape[0])
    cut = round(0.6 * inliers.shape[0])
    detector = Detector(NO_FENCE).fit(inliers[order[:cut]])
    fenced = detector.with_calibration(
        Calibration.held_out(detector.calibration_.scores, fence=3.5, keep=rows_to_reach(0.01))
    )
    rest = inliers[order[cut:]]
    return {
        name: [float(np.mean(d.predict(rest, alpha=a))) for a in ALPHAS]
        for name, d in (("every row", detector), ("fence 3.5", fenced))
    }


def report(rows: list[SetFlags], checks: list[dict[str, list[float]]]) -> None:
    for key in rows[0].flags:
        shown = "; ".join(
            f"at {alpha}: {np.mean([r.flags[key][i].anomalies for r in rows]):.3f} / "
            f"{np.mean([r.flags[key][i].inliers for r in rows]):.4f}"
            for i, alpha in enumerate(ALPHAS)
        )
        print(f"{key:12s} anomalies / inliers flagged {shown}")
    print(f"mean ROC-AUC {np.mean([r.auc for r in rows]):.3f}")
    for name in checks[0]:
        shares = np.mean([c[name] for c in checks], axis=0)
        print(
            f"clean data, {name}: held-out inliers flagged at 0.01 / 0.05: {shares[0]:.4f} / {shares[1]:.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--family", default="all", choices=(*FAMILIES, "all"))
    parser.add_argument("--sets", default="", help="only sets whose name contains one of a,b,…")
    args = parser.parse_args()
    families = FAMILIES if args.family == "all" else (args.family,)
    names = tuple(n for n in args.sets.split(",") if n)
    rows, checks = [], []
    for family in families:
        for data in family_sets(family, names=names):
            row, check = contaminated(data), clean(data)
            rows.append(row)
            checks.append(check)
            print(
                f"{data.name:26s} ROC-AUC {row.auc:.3f}, held out {row.held_out} "
                f"(fenced {row.excluded['fence 3.5']}), at 0.01 {row.flags['fence 3.5'][0]}; "
                f"clean: {check}",
                flush=True,
            )
    report(rows, checks)


if __name__ == "__main__":
    main()
