"""Measurements of bench/anomaly.py and how they are printed: per set, per family, pooled.

Hourglass runs under several seeds: a set's cell is the mean over seeds ± their standard
deviation; a family's mean is the mean over seeds of the per-seed means over the family's sets,
± the standard deviation of those per-seed means. Baselines run once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from anomaly_detectors import DETECTORS, LABELS

if TYPE_CHECKING:
    from anomaly_data import Dataset

CALIBRATION = "calibration"


@dataclass(frozen=True)
class Record:
    """One detector (one seed) on one set, or one calibration check (detector "calibration")."""

    family: str
    dataset: str
    n: int
    n_original: int
    d: int
    anomalies: float
    detector: str
    seed: int | None
    auc: float = float("nan")
    ap: float = float("nan")
    seconds: float = float("nan")
    flagged_01: float = float("nan")
    flagged_05: float = float("nan")
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def on(cls, data: Dataset, *, detector: str, seed: int | None, **measured: Any) -> Record:
        """A record of `detector` on the set `data` (its size and share of anomalies filled in)."""
        return cls(
            family=data.family,
            dataset=data.name,
            n=int(data.x.shape[0]),
            n_original=data.n_original,
            d=int(data.x.shape[1]),
            anomalies=float(data.y.mean()),
            detector=detector,
            seed=seed,
            **measured,
        )

    @classmethod
    def calibration(
        cls, data: Dataset, *, seed: int, flagged_01: float, flagged_05: float
    ) -> Record:
        """The calibration check's shares of held-out inliers flagged at alpha 0.01 and 0.05."""
        return cls.on(
            data, detector=CALIBRATION, seed=seed, flagged_01=flagged_01, flagged_05=flagged_05
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes null)."""
        out = dataclasses.asdict(self)
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Inverse of `to_dict`."""
        values = {k: (float("nan") if v is None and k != "seed" else v) for k, v in data.items()}
        return cls(**values)


def of(records: list[Record], detector: str) -> list[Record]:
    """The records of one detector."""
    return [r for r in records if r.detector == detector]


def seed_means(records: list[Record], metric: str = "auc") -> dict[int | None, float]:
    """Per seed, the mean of `metric` over the sets (baselines: one entry, seed None)."""
    by_seed: dict[int | None, list[float]] = {}
    for r in records:
        by_seed.setdefault(r.seed, []).append(getattr(r, metric))
    return {seed: float(np.mean(values)) for seed, values in by_seed.items()}


def spread(values: list[float]) -> float:
    """Standard deviation over seeds (n − 1); 0 for a single seed."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summary(records: list[Record], metric: str = "auc") -> tuple[float, float]:
    """Mean over seeds of the per-seed means, and their spread."""
    means = list(seed_means(records, metric).values())
    return (float(np.mean(means)), spread(means)) if means else (float("nan"), 0.0)


def header(chosen: list[str]) -> str:
    """The Markdown header of a family's table."""
    cells = [f"{LABELS[d]} ROC-AUC / AP / fit s" for d in DETECTORS if d in chosen]
    cal = ["held-out inliers flagged at 0.01 / 0.05"] if "hourglass" in chosen else []
    columns = ["dataset", "n", "d", "anomalies", *cells, *cal]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def print_family_header(family: str, chosen: list[str]) -> None:
    """A family's heading and the Markdown header of its table."""
    print(f"\n### {family}\n")
    print(header(chosen))


def _cell(records: list[Record]) -> str:
    if not records:
        return "–"
    aucs = [r.auc for r in records]
    auc = f"{np.mean(aucs):.3f}" + (f" ± {spread(aucs):.3f}" if len(aucs) > 1 else "")
    ap, seconds = np.mean([r.ap for r in records]), np.mean([r.seconds for r in records])
    return f"{auc} / {ap:.3f} / {seconds:.1f}"


def print_row(data: Dataset, rows: list[Record], chosen: list[str]) -> None:
    """One set's line: every chosen detector, then the calibration check."""
    n = f"{data.x.shape[0]}" + (
        f" of {data.n_original}" if data.n_original > data.x.shape[0] else ""
    )
    cells = [_cell(of(rows, d)) for d in DETECTORS if d in chosen]
    if "hourglass" in chosen:
        cal = of(rows, CALIBRATION)
        cells.append(f"{cal[0].flagged_01:.3f} / {cal[0].flagged_05:.3f}" if cal else "–")
    line = [data.name, n, str(data.x.shape[1]), f"{data.y.mean():.1%}", *cells]
    print("| " + " | ".join(line) + " |", flush=True)


def describe(records: list[Record], chosen: list[str]) -> str:
    """`detector ROC-AUC m ± s AP m fit s …` for every chosen detector, and the calibration."""
    parts = []
    for d in (d for d in DETECTORS if d in chosen):
        rs = of(records, d)
        if not rs:
            continue
        auc, auc_sd = summary(rs)
        ap, ap_sd = summary(rs, "ap")
        seeds = len(seed_means(rs))
        sd = f" ± {auc_sd:.3f}" if seeds > 1 else ""
        per_seed = (
            " (seeds " + " ".join(f"{v:.3f}" for v in seed_means(rs).values()) + ")"
            if seeds > 1
            else ""
        )
        seconds = [r.seconds for r in rs]
        parts.append(
            f"{d} ROC-AUC {auc:.3f}{sd}{per_seed} AP {ap:.3f}{' ± ' + format(ap_sd, '.3f') if seeds > 1 else ''}"
            f" fit s mean {np.mean(seconds):.1f} max {np.max(seconds):.1f}"
        )
    cal = of(records, CALIBRATION)
    if cal:
        parts.append(
            f"flagged at 0.01 {np.mean([r.flagged_01 for r in cal]):.3f}"
            f" at 0.05 {np.mean([r.flagged_05 for r in cal]):.3f}"
        )
    return ", ".join(parts)


def wins(records: list[Record], rival: str) -> str:
    """On how many sets Hourglass's seed-mean ROC-AUC is at least the rival's."""
    mine: dict[str, list[float]] = {}
    for r in of(records, "hourglass"):
        mine.setdefault(r.dataset, []).append(r.auc)
    theirs = {r.dataset: r.auc for r in of(records, rival)}
    common = sorted(set(mine) & set(theirs))
    won = sum(np.mean(mine[s]) >= theirs[s] for s in common)
    return f"{won} of {len(common)}"


def _mean_row(family: str, records: list[Record], chosen: list[str]) -> str:
    cells = []
    for d in (d for d in DETECTORS if d in chosen):
        rs = of(records, d)
        auc, auc_sd = summary(rs)
        sd = f" ± {auc_sd:.3f}" if len(seed_means(rs)) > 1 else ""
        cells.append(f"**{auc:.3f}{sd} / {summary(rs, 'ap')[0]:.3f}**" if rs else "–")
    if "hourglass" in chosen:
        cal = of(records, CALIBRATION)
        cells.append(
            f"**{np.mean([r.flagged_01 for r in cal]):.3f} / "
            f"{np.mean([r.flagged_05 for r in cal]):.3f}**"
            if cal
            else "–"
        )
    return "| **mean** | | | | " + " | ".join(cells) + " |"


def print_family(family: str, records: list[Record], chosen: list[str]) -> None:
    """The family's mean row, then one line with its means, spreads and fit seconds."""
    print(_mean_row(family, records, chosen))
    print(f"\n{family}: {describe(records, chosen)}")
    rivals = [d for d in ("iforest", "pyod_ae") if d in chosen]
    if "hourglass" in chosen and rivals:
        print(f"{family}: hourglass ≥ " + ", ".join(f"{r} on {wins(records, r)}" for r in rivals))


def print_pooled(records: list[Record], chosen: list[str]) -> None:
    """The pooled line over every set of every family that ran."""
    n_sets = len({(r.family, r.dataset) for r in records})
    print(f"\npooled ({n_sets} sets): {describe(records, chosen)}")
