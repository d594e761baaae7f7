"""Per-epoch curves of a Hourglass fit: label-free training statistics next to ROC-AUC.

For choosing a stopping rule without retraining: every epoch of a fit under a config (default:
`DetectorConfig()`), this records label-free statistics of the training run (the mean training
loss; the entropy of the per-row score distribution on up to 1,024 training rows, the statistic
of EntropyStop, Huang et al., KDD 2024) and, for the benchmark only, the ROC-AUC and average
precision the Detector would have if training stopped there (its score of all rows, per-feature
weights from the training rows at that epoch). `--simulate` then replays stopping rules on the
saved curves: a rule sees the statistics only, never the labels.

    python bench/anomaly_curves.py --family all --seed 0 --json bench/results/curves.json
    python bench/anomaly_curves.py --simulate bench/results/curves.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from anomaly import build_config  # noqa: E402
from anomaly_data import FAMILIES, Dataset, family_sets  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from models import Detector, masking  # noqa: E402
from models import scoring as hg_scoring  # noqa: E402
from models.trainer import train  # noqa: E402

N_EVAL = 1024


def entropy(scores: np.ndarray) -> float:
    """Shannon entropy of the scores normalised to a distribution over the rows."""
    p = scores / max(float(scores.sum()), 1e-300)
    return float(-(p * np.log(p + 1e-12)).sum())


def _aucs(
    data: Dataset, errors: np.ndarray, train: np.ndarray, prefix: str, kept: dict[str, Any]
) -> dict[str, float]:
    """ROC-AUC and AP of the feature-normalised score, and ROC-AUC of the plain MSE score."""
    weights = hg_scoring.feature_weights(errors[:, train], "feature_normalized")
    scores = hg_scoring.scores(errors, weights, "feature_normalized")
    kept[prefix + "scores"] = scores.astype(np.float32)
    return {
        f"{prefix}auc": float(roc_auc_score(data.y, scores)),
        f"{prefix}ap": float(average_precision_score(data.y, scores)),
        f"{prefix}auc_mse": float(roc_auc_score(data.y, (errors**2).mean(axis=(0, 2)))),
    }


def curve(
    data: Dataset, overrides: list[str], seed: int, max_steps: int, scores_dir: Path | None
) -> dict[str, Any]:
    """Fit under the config, recording the statistics and the detection figures of every epoch."""
    det = Detector(build_config(overrides, seed))
    points: list[dict[str, float]] = []
    state: dict[str, Any] = {}
    snapshots: dict[int, dict[str, Any]] = {}

    prepared = det.prepare(data.x)
    picked = np.random.default_rng(0).permutation(prepared.split.train)[:N_EVAL]
    state.update(
        z=prepared.z,
        train=prepared.split.train,
        eval=np.sort(picked),
        hidden=masking.scoring_masks(prepared.config, data.x.shape[1]),
        steps=math.ceil(len(prepared.split.train) / prepared.config.training.batch_size),
    )
    members = prepared.members

    def record(epoch: int, train_loss: float, val_loss: float | None, seconds: float) -> bool:
        for net in members:
            net.eval()
        errors = hg_scoring.member_errors(members, state["z"])
        kept: dict[str, Any] = {}
        figures = _aucs(data, errors, state["train"], "", kept)
        if state["hidden"] is not None:
            masked = hg_scoring.member_errors(members, state["z"], state["hidden"])
            figures.update(_aucs(data, masked, state["train"], "masked_", kept))
        if epoch & (epoch - 1) == 0:  # powers of two: kept for offline ensembles of snapshots
            snapshots[epoch] = kept
        state["last"] = (epoch, kept)
        ev = errors[:, state["eval"]]
        ev_weights = hg_scoring.feature_weights(ev, "feature_normalized")
        points.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "seconds": seconds,
                "h_fn": entropy(hg_scoring.scores(ev, ev_weights, "feature_normalized")),
                "h_mse": entropy((ev**2).mean(axis=(0, 2))),
                **figures,
            }
        )
        return max_steps > 0 and epoch * state["steps"] >= max_steps

    result = train(
        members, prepared.train_rows, prepared.val_rows, prepared.config.training, record
    )
    det.finish(prepared, result)
    steps = state["steps"]
    if scores_dir is not None:
        snapshots[state["last"][0]] = state["last"][1]
        epochs = sorted(snapshots)
        arrays = {
            key: np.stack([snapshots[e][key] for e in epochs]) for key in snapshots[epochs[0]]
        }
        path = scores_dir / f"{data.name}.seed{seed}.npz"
        np.savez(path, epochs=np.array(epochs), y=data.y, **arrays)
    return {
        "family": data.family,
        "dataset": data.name,
        "n": int(data.x.shape[0]),
        "d": int(data.x.shape[1]),
        "seed": seed,
        "steps_per_epoch": steps,
        "points": points,
    }


def record_curves(args: argparse.Namespace) -> None:
    """Fit every set under every seed and write the curves."""
    torch.set_num_threads(1)
    if args.save_scores is not None:
        args.save_scores.mkdir(parents=True, exist_ok=True)
    families = FAMILIES if args.family == "all" else (args.family,)
    names = tuple(s for s in args.sets.split(",") if s)
    out: list[dict[str, Any]] = []
    for family in families:
        for data in family_sets(family, names=names):
            for seed in args.seeds:
                c = curve(data, args.set, seed, args.max_steps, args.save_scores)
                out.append(c)
                last = c["points"][-1]
                print(
                    f"{family} {data.name} seed {seed}: {len(c['points'])} epochs,"
                    f" final ROC-AUC {last['auc']:.3f}",
                    flush=True,
                )
                args.json.write_text(json.dumps({"overrides": args.set, "curves": out}))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--family", default="all", choices=(*FAMILIES, "all"))
    parser.add_argument("--sets", default="", help="only sets whose name contains one of a,b,…")
    parser.add_argument("--seeds", default="0", help="training seeds, e.g. 0,1,2")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--json", type=Path, help="where the curves go")
    parser.add_argument("--max-steps", type=int, default=0, help="stop recording after this")
    parser.add_argument("--save-scores", type=Path, help="scores at epochs 1, 2, 4, … and last")
    parser.add_argument("--simulate", type=Path, help="replay stopping rules on saved curves")
    parser.add_argument("--metric", default="auc", help="auc, auc_mse, masked_auc, … (simulate)")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def main(argv: list[str] | None = None) -> None:
    """Record curves, or replay stopping rules on recorded ones."""
    args = parse_args(argv)
    if args.simulate is not None:
        from anomaly_stoprules import simulate

        simulate(json.loads(args.simulate.read_text())["curves"], args.metric)
    else:
        record_curves(args)


if __name__ == "__main__":
    main()
