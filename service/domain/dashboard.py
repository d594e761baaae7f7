"""What the dashboard's pages show, composed from the same use cases the API calls: a page of
runs with their best losses, a version with its Detector's score histogram and layers, and one
row explained."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from models import Detector, LayerInfo
from models.decision import Assessment
from service.domain import inference, registry
from service.domain import runs as run_cases
from service.domain.arrays import FloatArray, check_finite
from service.domain.lookup import Lookup, Target
from service.errors import BadRows
from service.store import runs as run_store
from service.store.tables import ModelVersion, Run, RunStatus

HISTOGRAM_BINS = 40
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True)
class RunsPage:
    """A page of runs, their best losses so far, and whether any run anywhere is active."""

    runs: list[Run]
    total: int
    best: dict[int, float]
    busy: bool


def runs_page(
    session: Session, *, status: RunStatus | None, model_name: str | None, limit: int, offset: int
) -> RunsPage:
    """The runs table: newest first, filtered, one page."""
    items, total = run_cases.list_runs(
        session, status=status, model_name=model_name, limit=limit, offset=offset
    )
    best = run_store.best_losses(session, [run.id for run in items])
    counts = run_store.count_by_status(session)
    return RunsPage(items, total, best, any(counts.get(s, 0) for s in ACTIVE))


@dataclass(frozen=True)
class Histogram:
    """Calibration scores in bins, and the threshold at `alpha` (None: no score reaches it)."""

    edges: list[float]
    counts: list[int]
    alpha: float
    threshold: float | None


def score_histogram(detector: Detector, *, alpha: float | None) -> Histogram:
    """The histogram of the calibration rows' scores and the version's conformal threshold at
    `alpha` (default: the version's alpha): exactly the `threshold` `/anomalies` answers."""
    chosen = float(detector.config_.calibration.alpha if alpha is None else alpha)
    counts, edges = np.histogram(detector.calibration_.scores, bins=HISTOGRAM_BINS)
    threshold = registry.finite_or_none(detector.threshold(chosen))
    return Histogram([float(e) for e in edges], [int(c) for c in counts], chosen, threshold)


@dataclass(frozen=True)
class VersionView:
    """One version for its page."""

    target: Target
    version: ModelVersion
    aliases: list[str]
    histogram: Histogram
    layers: list[LayerInfo]


def version_view(
    session: Session, lookup: Lookup, name: str, number: int, *, alpha: float | None
) -> VersionView:
    """A version with its aliases, histogram at `alpha` and hidden layers."""
    _, version = registry.get_version(session, name, number)
    target, _ = lookup.resolve(session, f"{name}@{number}")
    detail = registry.describe_model(session, name)
    aliases = sorted(a for a, v in detail.aliases.items() if v == number)
    histogram = score_histogram(target.detector, alpha=alpha)
    return VersionView(target, version, aliases, histogram, registry.layers_of(target.detector))


def parse_row(text: str, *, columns: list[str]) -> FloatArray:
    """One row typed into a form: numbers separated by commas, semicolons or spaces."""
    cells = [c for c in re.split(r"[,;\s]+", text.strip()) if c]
    if len(cells) != len(columns):
        msg = f"row: {len(cells)} values for the model's {len(columns)} columns"
        raise BadRows(msg, errors=[{"loc": ["form", "row"], "msg": msg}])
    values = []
    for column, cell in zip(columns, cells, strict=True):
        try:
            values.append(float(cell))
        except ValueError:
            msg = f"row: {cell[:40]!r} (column {column!r}) is not a number"
            raise BadRows(msg, errors=[{"loc": ["form", "row", column], "msg": msg}]) from None
    return check_finite(np.array([values]), field="row", columns=columns)


def explain_row(
    session: Session,
    lookup: Lookup,
    ref: str,
    text: str,
    *,
    alpha: float | None,
    top: int,
) -> Assessment:
    """One typed row assessed as `/anomalies` assesses it, with its top features explained."""
    target, _ = lookup.resolve(session, ref)
    x = parse_row(text, columns=target.columns)
    return inference.anomalies(target, x, alpha=alpha, explain=top)
