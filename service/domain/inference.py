"""Inference on rows: embed, reconstruct, anomalies, with errors that name the row and column.

The Detector that answers comes from service/domain/lookup.py (memory first, then the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models import InvalidInput
from models.decision import Assessment
from service.domain.arrays import FloatArray, check_width, records_to_array, rows_to_array
from service.domain.arrowipc import arrow_to_array
from service.domain.lookup import Target
from service.errors import BadRows, TooManyRows


@dataclass(frozen=True)
class Rows:
    """Rows as sent: a parsed `.npy` array, an Arrow IPC stream, `instances` (lists) or
    `records` (objects)."""

    array: FloatArray | None = None
    arrow: bytes | None = None
    instances: object = None
    records: object = None
    may_hold_booleans: bool = True  # False when the JSON text has no `true` or `false` at all
    may_hold_strings: bool = True  # False when the JSON text has no string but its keys


def rows_for(target: Target, rows: Rows, *, max_rows: int) -> FloatArray:
    """The request's rows as an (n, d) array in the model's column order, checked."""
    if rows.array is not None:
        x = rows.array
        field = "body"
    elif rows.arrow is not None:
        x = arrow_to_array(rows.arrow, columns=target.columns)
        field = "body"
    elif rows.records is not None:
        x = records_to_array(
            rows.records, columns=target.columns, may_hold_booleans=rows.may_hold_booleans
        )
        field = "records"
    else:
        x = rows_to_array(
            rows.instances,
            field="instances",
            columns=target.columns,
            may_hold_booleans=rows.may_hold_booleans,
            may_hold_strings=rows.may_hold_strings,
        )
        field = "instances"
    if x.shape[0] > max_rows:
        raise TooManyRows(f"{x.shape[0]} rows sent; at most {max_rows} per request")
    return check_width(x, width=len(target.columns), field=field)


def engine_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except InvalidInput as exc:
        loc: list[str | int] = ["body"]
        if exc.row is not None:
            loc.append(exc.row)
        if exc.column is not None:
            loc.append(exc.column)
        raise BadRows(str(exc), errors=[{"loc": loc, "msg": str(exc)}]) from exc


def embed(target: Target, x: FloatArray, *, layer: int | None = None) -> FloatArray:
    """Hidden-layer activations (the code by default)."""
    if layer is not None:
        indices = [info.index for info in target.detector.layers()]
        if layer not in indices:
            msg = f"layer: must be one of {indices}"
            raise BadRows(msg, errors=[{"loc": ["body", "layer"], "msg": msg}])
    return np.asarray(engine_call(target.detector.embed, x, layer=layer))


def reconstruct(target: Target, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Reconstructions in original units and each row's anomaly score, from one forward pass."""
    rebuilt, scores = engine_call(target.detector.reconstruct_and_score, x)
    return np.asarray(rebuilt), np.asarray(scores)


def anomalies(
    target: Target, x: FloatArray, *, alpha: float | None = None, explain: int | None = None
) -> Assessment:
    """The Detector's own decision (one forward pass): scores, p-values, flags, the rule that
    flagged, warnings, and the top-`explain` features per row."""
    k = min(explain or 0, len(target.columns))
    found: Assessment = engine_call(target.detector.assess, x, alpha=alpha, explain=k)
    return found
