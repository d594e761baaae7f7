"""Re-score one fit per set and seed under other per-feature weightings, family by family.

The default score divides each feature's squared (hidden-cell) error by its median on the
training rows, floored at 1e-3 × the mean of those medians (models/scoring.py). This fits the
default Detector once per set and seed and prints the mean ROC-AUC per family with other floors
and with no weighting (plain mean squared error of the same errors), so only the score differs.

    python bench/anomaly_scorings.py --seeds 0
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from anomaly import build_config  # noqa: E402
from anomaly_data import FAMILIES, family_sets  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from models import Detector  # noqa: E402
from models import scoring as hg_scoring  # noqa: E402
from models.split import split_rows  # noqa: E402

FLOORS = (1e-3, 0.03, 0.1, 0.3, 1.0)


def weighted(errors: np.ndarray, train: np.ndarray, floor: float | None) -> np.ndarray:
    """Mean over features of e² / max(median e² on the training rows, floor × their mean)."""
    squares = (errors**2).mean(axis=0)  # over members: (rows, features)
    if floor is None:
        return squares.mean(axis=1)  # type: ignore[no-any-return]
    typical = np.median(squares[train], axis=0)
    scale = np.maximum(typical, max(floor * typical.mean(), 1e-6))
    return (squares / scale).mean(axis=1)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    """Print one line per weighting: the family means of ROC-AUC."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = [f"floor {f:g}" for f in FLOORS] + ["no weighting (MSE)"]
    aucs: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for family in FAMILIES:
        for data in family_sets(family):
            for seed in (int(s) for s in args.seeds.split(",")):
                det = Detector(build_config(args.set, seed)).fit(data.x)
                train = split_rows(data.x.shape[0], det.config_, seed=seed).train
                z = torch.from_numpy(det.scaler_.transform(data.x)).to(det.device_)
                errors = hg_scoring.member_errors(det.members_, z, det.scoring_masks_)
                for name, floor in zip(names, [*FLOORS, None], strict=True):
                    auc = float(roc_auc_score(data.y, weighted(errors, train, floor)))
                    for group in (family, "pooled"):
                        aucs[name].setdefault(group, []).append(auc)
            print(f"{family} {data.name} done", flush=True)
    groups = [*FAMILIES, "pooled"]
    print("| weighting | " + " | ".join(groups) + " |\n|---|" + "---|" * len(groups))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{np.mean(aucs[name][g]):.3f}" for g in groups) + " |")


if __name__ == "__main__":
    main()
