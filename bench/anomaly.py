"""Anomaly-detection quality of the Hourglass default config against four baselines, per family.

Protocol (issues 5 and 16): on every dataset of each family (bench/anomaly_data.py: `tabular`,
`sklearn`, `embeddings`), fit each detector on all rows without labels, score all rows, report
ROC-AUC and average precision against the labels. Hourglass runs under seeds 0, 1, 2 (mean and
spread); IsolationForest (random_state 0), PyOD's AutoEncoder, ECOD and PCA (PyOD defaults) run
once, in the same run. Sets over 20,000 rows are subsampled (stratified, seed 0) for every
detector alike. The calibration check trains Hourglass (first seed) on 60 % of the inliers and
reports the share of the other 40 % flagged at alpha 0.01 and 0.05 (the promise: about alpha).

    python bench/anomaly.py                           # all 41 sets, 3 seeds, baselines
    python bench/anomaly.py --family embeddings --quick
    python bench/anomaly.py --only hourglass --seed 1 --set training.epochs=10 --json out.json

`--set SECTION.FIELD=VALUE` (repeatable; VALUE is JSON, else a string) evaluates a config
override, so every experiment is a command line; bench/anomaly_compare.py compares two --json
results family by family under the rule of issue 16.

Needs the `bench` extras (scikit-learn, PyOD). Threads are pinned to 1 unless the environment says
otherwise, so the figures do not depend on what else runs on the machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from anomaly_data import FAMILIES, MAX_ROWS, QUICK, Dataset, family_sets  # noqa: E402
from anomaly_detectors import BASELINES, DETECTORS, Fit, baseline, hourglass  # noqa: E402
from anomaly_report import (  # noqa: E402
    Record,
    print_family,
    print_family_header,
    print_pooled,
    print_row,
)
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

from models import Detector, DetectorConfig  # noqa: E402


def parse_value(text: str) -> Any:
    """A `--set` value: JSON when it parses (10, 0.5, null, [64, 32], true), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_config(overrides: list[str], seed: int) -> DetectorConfig:
    """`DetectorConfig()` with `section.field=value` overrides and the training seed."""
    data = DetectorConfig().to_dict()
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or section not in data:
            raise SystemExit(f"--set {item!r}: expected SECTION.FIELD=VALUE")
        data[section][name] = parse_value(value)
    data["training"]["seed"] = seed
    return DetectorConfig.from_dict(data)


def measure(data: Dataset, detector: str, fit: Fit, seed: int | None) -> Record:
    """ROC-AUC and average precision of one fit's scores against the labels."""
    return Record.on(
        data,
        detector=detector,
        seed=seed,
        auc=float(roc_auc_score(data.y, fit.scores)),
        ap=float(average_precision_score(data.y, fit.scores)),
        seconds=fit.seconds,
        info=fit.info,
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


def run_set(data: Dataset, args: argparse.Namespace, chosen: list[str]) -> list[Record]:
    """Every chosen detector on one set; Hourglass once per seed, the first seed calibrated."""
    records = []
    for seed in args.seeds if "hourglass" in chosen else []:
        config = build_config(args.set, seed)
        fit = hourglass(data.x, config)
        records.append(measure(data, "hourglass", fit, seed))
        if args.save_scores is not None:
            path = args.save_scores / f"{data.name}.seed{seed}.npy"
            np.save(path, fit.scores.astype(np.float32), allow_pickle=False)
    for name in (n for n in chosen if n in BASELINES):
        records.append(measure(data, name, baseline(name)(data.x), None))
    if "hourglass" in chosen and args.calibration:
        low, high = calibration_check(data, build_config(args.set, args.seeds[0]))
        records.append(
            Record.calibration(data, seed=args.seeds[0], flagged_01=low, flagged_05=high)
        )
    return records


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--family", default="all", choices=(*FAMILIES, "all"))
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK}")
    parser.add_argument("--sets", default="", help="only sets whose name contains one of a,b,…")
    parser.add_argument("--seed", type=int, help="one Hourglass seed instead of 0, 1, 2")
    parser.add_argument("--seeds", default="0,1,2", help="Hourglass training seeds")
    parser.add_argument("--only", default=",".join(DETECTORS), help="detectors to run")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE")
    parser.add_argument("--no-calibration", dest="calibration", action="store_false")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS, help="0: never subsample")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument("--save-scores", type=Path, help="directory for Hourglass's scores")
    args = parser.parse_args(argv)
    args.seeds = [args.seed] if args.seed is not None else [int(s) for s in args.seeds.split(",")]
    chosen = [d.strip() for d in args.only.split(",") if d.strip()]
    unknown = sorted(set(chosen) - set(DETECTORS))
    if unknown:
        parser.error(f"unknown detector {unknown[0]!r}; choose from {', '.join(DETECTORS)}")
    args.chosen = chosen
    build_config(args.set, 0)  # fail before the first fit on a bad override
    return args


def main(argv: list[str] | None = None) -> None:
    """Print one Markdown table per family, the family means, then the pooled line."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.save_scores is not None:
        args.save_scores.mkdir(parents=True, exist_ok=True)
    families = FAMILIES if args.family == "all" else (args.family,)
    names = tuple(s for s in args.sets.split(",") if s)
    records: list[Record] = []
    for family in families:
        sets = family_sets(family, quick=args.quick, names=names, max_rows=args.max_rows)
        if not sets:
            continue
        family_records: list[Record] = []
        print_family_header(family, args.chosen)
        for data in sets:
            rows = run_set(data, args, args.chosen)
            print_row(data, rows, args.chosen)
            family_records += rows
        print_family(family, family_records, args.chosen)
        records += family_records
        if args.json is not None:
            write_json(args, records)
    print_pooled(records, args.chosen)


def write_json(args: argparse.Namespace, records: list[Record]) -> None:
    """Every record so far, with the command line that made them."""
    doc = {"overrides": args.set, "seeds": args.seeds, "records": [r.to_dict() for r in records]}
    args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
