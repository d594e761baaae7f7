"""Acceptance figures of the attributions and CKA (issue 14, part 2).

    python bench/attribution.py

1. Completeness of Integrated Gradients at 32 steps: the share of 400 rows (40 of them with one
   column shifted by 30) whose |Σ attributions − (f(x) − f(x₀))| ≤ 1e-3·max(1, |f(x)|), for
   three units and the score, per activation (default architecture otherwise, 8 epochs).
2. The largest difference from Captum's IntegratedGradients (same rule, 32 steps) on 64 rows.
3. 5-D linear manifold in 20-D (4,000 normal rows, default config, 30 epochs); 1,000 anomalies
   that each shift one column by 6σ: the share whose top column by per-feature error
   (`explain`) and by IG of the score is the shifted one.
4. CKA of a version with itself, and with a retrain under another seed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
from models import Detector, DetectorConfig  # noqa: E402
from models.attribution import attribute, compare, target_and_baseline  # noqa: E402
from tests.models.conftest import low_rank_rows, single_feature_anomalies  # noqa: E402

UNITS: list[tuple[int, int] | None] = [(0, 3), (1, 2), (3, 7), None]


def fit(activation: str) -> Detector:
    config = {"architecture": {"activation": activation}, "training": {"epochs": 8, "seed": 1}}
    return Detector(DetectorConfig.from_dict(config)).fit(low_rank_rows(2_000, d=10, seed=3))


def completeness() -> None:
    x = low_rank_rows(400, d=10, seed=11)
    x[:40, 2] += 30.0
    for activation in ("relu", "gelu", "silu", "tanh", "sigmoid"):
        detector = fit(activation)
        shares = []
        for unit in UNITS:
            found = attribute(detector, x, unit=unit)
            bound = 1e-3 * np.maximum(1.0, np.abs(found.values))
            shares.append(float(np.mean(found.completeness_gap <= bound)))
        named = ", ".join(f"{u or 'score'}: {s:.3f}" for u, s in zip(UNITS, shares, strict=True))
        print(f"IG completeness at 32 steps, {activation}: {named}")


def captum_difference() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from captum.attr import IntegratedGradients
    detector = fit("relu")
    x = low_rank_rows(64, d=10, seed=12)
    z = detector.scale(x).double()
    worst = 0.0
    for unit in UNITS:
        ours = attribute(detector, x, unit=unit).attributions
        f, base = target_and_baseline(detector, z, unit)
        theirs = IntegratedGradients(f).attribute(
            z, baselines=base, n_steps=32, method="gausslegendre"
        )
        worst = max(worst, float(np.abs(ours - theirs.detach().numpy()).max()))
    print(f"largest |ours − Captum| over 4 targets × 64 rows × 10 columns: {worst:.2e}")


def top_feature() -> None:
    normal, rows, shifted = single_feature_anomalies()
    detector = Detector(DetectorConfig.from_dict({"training": {"epochs": 30}})).fit(normal)
    top = [row[0]["feature"] for row in detector.explain(rows, 1)]
    by_error = np.mean([name == f"f{j}" for name, j in zip(top, shifted, strict=True)])
    by_ig = np.mean(np.argmax(attribute(detector, rows).attributions, axis=1) == shifted)
    print(f"top-1 column right, 1,000 6σ anomalies: {by_error:.3f} by error, {by_ig:.3f} by IG")
    again = Detector(DetectorConfig.from_dict({"training": {"epochs": 30, "seed": 7}})).fit(normal)
    print(
        f"CKA(version, itself) − 1 = {compare(detector, detector)[0] - 1:.1e}; "
        f"CKA(version, retrain with seed 7) = {compare(detector, again)[0]:.4f}"
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    completeness()
    captum_difference()
    top_feature()
