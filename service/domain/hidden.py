"""What the hidden layers compute, for a version: attributions, traversals, unit examples, CKA."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from models import attribution
from service.domain.arrays import FloatArray, check_width, rows_to_array
from service.domain.inference import engine_call
from service.domain.lookup import DetectorCache, Target
from service.domain.registry import get_version
from service.errors import BadRows, Conflict


class NothingKept(Conflict):
    """The version was saved without what the request needs (trained before it was kept)."""


def _kept(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return engine_call(function, *args, **kwargs)
    except attribution.NotKept as exc:
        raise NothingKept(str(exc)) from exc


def _overflowed(what: str, *arrays: np.ndarray) -> None:
    """BadRows naming the first row whose answer is not finite (the row lies far outside the
    training data, and JSON has no Infinity)."""
    for array in arrays:
        finite = np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1)
        if not finite.all():
            row = int(np.argmin(finite))
            msg = f"row {row}: the {what} overflowed; the row is far outside the training data"
            raise BadRows(msg, errors=[{"loc": ["body", row], "msg": msg}])


def attributions(
    target: Target,
    x: FloatArray,
    *,
    unit: tuple[int, int] | None,
    method: str,
    steps: int,
) -> attribution.Attribution:
    """Attributions of a unit (or the score) to each column of each row."""
    x = check_width(x, width=len(target.columns), field="instances")
    found: attribution.Attribution = engine_call(
        attribution.attribute, target.detector, x, unit=unit, method=method, steps=steps
    )
    _overflowed("attribution", found.attributions, found.values, found.baseline_values)
    _overflowed("attribution", found.completeness_gap)
    return found


def traverse(
    target: Target, unit: int, values: list[float], row: list[float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes with one unit moved over `values`, and their reconstructions in original units."""
    x = None
    if row is not None:
        x = rows_to_array([row], field="instance")
        x = check_width(x, width=len(target.columns), field="instance")
    codes, rebuilt = engine_call(attribution.traverse, target.detector, unit, values, x)
    _overflowed("traversal", np.asarray(codes), np.asarray(rebuilt))
    return np.asarray(codes), np.asarray(rebuilt)


def unit_examples(target: Target, layer: int, unit: int, k: int) -> attribution.UnitExamples:
    """The kept calibration rows that activate the unit most and least."""
    found: attribution.UnitExamples = _kept(
        attribution.unit_examples, target.detector, layer, unit, k
    )
    return found


def compare(
    session: Session, cache: DetectorCache, name: str, a: int, b: int
) -> tuple[float, list[float], int]:
    """Linear CKA between two versions' codes (and same-index layers) on version a's rows."""
    detectors = [cache.get(session, get_version(session, name, number)[1]) for number in (a, b)]
    found: tuple[float, list[float], int] = _kept(attribution.compare, *detectors)
    return found
