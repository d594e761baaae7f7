"""Anomaly-detection quality of the Hourglass default config against IsolationForest and PyOD's AE.

Protocol (issue 5): on every dataset in the bench-data directory, fit each detector on all rows
without labels, score all rows, and report ROC-AUC and average precision against the labels.
Datasets over 20,000 rows are subsampled (stratified, seed 0) for every detector alike. The
calibration check trains Hourglass on 60 % of the inliers and reports the share of the other 40 %
flagged at alpha 0.01 and 0.05 (the conformal promise: about alpha).

    python bench/anomaly.py [--quick] [--data DIR] [--seed N] [--only hourglass,iforest,pyod]
    python bench/anomaly.py --sklearn    # held-out sets the defaults were never chosen on

`--sklearn` runs, instead, ODDS-style sets built from the real data that ships inside
scikit-learn (nothing is downloaded): one class downsampled to a few rows as the anomalies, the
other classes as the inliers, as ODDS built its WBC, wine and optdigits sets. No default was chosen
on them, so they tell whether a change generalises beyond the 18 shared sets.

Needs the `bench` extras (scikit-learn, PyOD). Threads are pinned to 1 unless the environment says
otherwise, so the figures do not depend on what else runs on the machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn import datasets as sklearn_data  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from models import Detector, DetectorConfig  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "bench-data"
MAX_ROWS = 20_000
QUICK = ("4_breastw", "6_cardio", "38_thyroid", "40_vowels", "42_WBC", "29_Pima")
DETECTORS = ("hourglass", "iforest", "pyod")


@dataclass(frozen=True)
class Dataset:
    """One labelled dataset, already subsampled to at most MAX_ROWS rows."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_original: int


@dataclass(frozen=True)
class Result:
    """One detector on one dataset."""

    auc: float
    ap: float
    seconds: float


def load(path: Path) -> Dataset:
    """Read `X`, `y` from an .npz (no pickle); subsample big sets stratified under seed 0."""
    with np.load(path, allow_pickle=False) as data:
        x, y = data["X"].astype(np.float32), data["y"].astype(np.int64).ravel()
    n = x.shape[0]
    if n > MAX_ROWS:
        x, _, y, _ = train_test_split(x, y, train_size=MAX_ROWS, stratify=y, random_state=0)
    return Dataset(path.stem, x, y, n)


def _order(path: Path) -> tuple[int, str]:
    prefix = path.stem.split("_", 1)[0]
    return (int(prefix) if prefix.isdigit() else 1 << 30, path.stem)


def datasets(directory: Path, quick: bool = False) -> list[Dataset]:
    """Every .npz in `directory`, sorted by name; the QUICK subset with `quick`."""
    paths = sorted(directory.glob("*.npz"), key=_order)
    if quick:
        paths = [p for p in paths if p.stem in QUICK]
    return [load(p) for p in paths]


def _odds_style(name: str, x: np.ndarray, y: np.ndarray, anomaly: int, n: int) -> Dataset:
    """Inliers: every class but `anomaly`; anomalies: `n` rows of it, drawn under seed 0."""
    rng = np.random.default_rng(0)
    picked = rng.choice(np.flatnonzero(y == anomaly), size=n, replace=False)
    rows = np.concatenate([np.flatnonzero(y != anomaly), np.sort(picked)])
    labels = (y[rows] == anomaly).astype(np.int64)
    return Dataset(name, x[rows].astype(np.float32), labels, rows.size)


def sklearn_sets() -> list[Dataset]:
    """Held-out sets from scikit-learn's bundled data (breast cancer, wine, digits, iris)."""
    cancer, wine = sklearn_data.load_breast_cancer(), sklearn_data.load_wine()
    digits, iris = sklearn_data.load_digits(), sklearn_data.load_iris()
    sets = [
        _odds_style("sk_wdbc (malignant)", cancer.data, cancer.target, 0, 10),
        _odds_style("sk_wine (class 0)", wine.data, wine.target, 0, 10),
        _odds_style("sk_iris (setosa)", iris.data, iris.target, 0, 5),
    ]
    sets += [_odds_style(f"sk_digits ({c})", digits.data, digits.target, c, 30) for c in range(4)]
    return sets


Scorer = Callable[[np.ndarray], tuple[np.ndarray, float]]
"""Fit on all rows, score all rows: (scores, fit seconds)."""


def hourglass_scores(x: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, float]:
    """The Hourglass Detector's anomaly scores of every row after fitting on all rows."""
    started = time.perf_counter()
    det = Detector(config).fit(x)
    return det.score(x), time.perf_counter() - started


def iforest_scores(x: np.ndarray) -> tuple[np.ndarray, float]:
    """IsolationForest (scikit-learn defaults, random_state=0); higher = odder."""
    started = time.perf_counter()
    forest = IsolationForest(random_state=0).fit(x)
    seconds = time.perf_counter() - started
    scores: np.ndarray = -forest.score_samples(x)
    return scores, seconds


def pyod_scores(x: np.ndarray) -> tuple[np.ndarray, float]:
    """PyOD's AutoEncoder with its defaults (it standardises the features itself)."""
    from pyod.models.auto_encoder import AutoEncoder

    started = time.perf_counter()
    model = AutoEncoder(verbose=0)
    model.fit(x)
    seconds = time.perf_counter() - started
    scores: np.ndarray = model.decision_function(x)
    return scores, seconds


def evaluate(data: Dataset, scorer: Scorer) -> Result:
    """Fit and score all rows; ROC-AUC, average precision and wall-clock fit seconds."""
    scores, seconds = scorer(data.x)
    return Result(
        float(roc_auc_score(data.y, scores)),
        float(average_precision_score(data.y, scores)),
        seconds,
    )


def calibration_check(data: Dataset, config: DetectorConfig) -> tuple[float, float]:
    """Train on 60 % of the inliers; the shares of the other 40 % flagged at alpha 0.01, 0.05."""
    inliers = data.x[data.y == 0]
    order = np.random.default_rng(0).permutation(inliers.shape[0])
    cut = round(0.6 * inliers.shape[0])
    det = Detector(config).fit(inliers[order[:cut]])
    held_out = inliers[order[cut:]]
    return (
        float(np.mean(det.predict(held_out, alpha=0.01))),
        float(np.mean(det.predict(held_out, alpha=0.05))),
    )


def _cell(result: Result | None) -> str:
    return "–" if result is None else f"{result.auc:.3f} / {result.ap:.3f} / {result.seconds:.1f}"


def _mean(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" if values else "–"


def main(argv: list[str] | None = None) -> None:
    """Print the Markdown table and, last, one line with the means."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--data", type=Path, default=DATA, help="directory of .npz files")
    parser.add_argument("--sklearn", action="store_true", help="the held-out scikit-learn sets")
    parser.add_argument("--seed", type=int, default=0, help="Hourglass training seed")
    parser.add_argument("--only", default=",".join(DETECTORS), help="detectors to run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    chosen = [d.strip() for d in args.only.split(",") if d.strip()]
    unknown = sorted(set(chosen) - set(DETECTORS))
    if unknown:
        parser.error(f"unknown detector {unknown[0]!r}; choose from {', '.join(DETECTORS)}")
    default = DetectorConfig()
    config = replace(default, training=replace(default.training, seed=args.seed))
    scorers: dict[str, Scorer] = {
        "hourglass": lambda x: hourglass_scores(x, config),
        "iforest": iforest_scores,
        "pyod": pyod_scores,
    }
    results: dict[str, list[Result]] = {name: [] for name in chosen}
    flagged: list[tuple[float, float]] = []
    print(
        "| dataset | n | d | anomalies | Hourglass AUC / AP / fit s | IForest AUC / AP / fit s "
        "| PyOD AE AUC / AP / fit s | held-out inliers flagged at 0.01 / 0.05 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for data in sklearn_sets() if args.sklearn else datasets(args.data, quick=args.quick):
        row = {name: evaluate(data, scorers[name]) for name in chosen}
        for name, result in row.items():
            results[name].append(result)
        cal = "–"
        if "hourglass" in chosen:
            flagged.append(calibration_check(data, config))
            cal = f"{flagged[-1][0]:.3f} / {flagged[-1][1]:.3f}"
        n = f"{data.x.shape[0]}" + (f" of {data.n_original}" if data.n_original > MAX_ROWS else "")
        cells = " | ".join(_cell(row.get(name)) for name in DETECTORS)
        print(
            f"| {data.name} | {n} | {data.x.shape[1]} | {data.y.mean():.1%} | {cells} | {cal} |",
            flush=True,
        )
    means = {name: [r.auc for r in rs] for name, rs in results.items()}
    aps = {name: [r.ap for r in rs] for name, rs in results.items()}
    print(
        "| **mean** | | | | "
        + " | ".join(f"**{_mean(means.get(n, []))} / {_mean(aps.get(n, []))}**" for n in DETECTORS)
        + f" | **{_mean([f[0] for f in flagged])} / {_mean([f[1] for f in flagged])}** |"
    )
    print()
    print(
        "means: "
        + ", ".join(
            f"{n} ROC-AUC {_mean(means[n])} AP {_mean(aps[n])} "
            f"fit s {np.sum([r.seconds for r in results[n]]):.0f} total"
            for n in chosen
        )
        + (
            f", flagged at 0.01 {_mean([f[0] for f in flagged])}"
            f" at 0.05 {_mean([f[1] for f in flagged])}"
            if flagged
            else ""
        )
    )


if __name__ == "__main__":
    main()
