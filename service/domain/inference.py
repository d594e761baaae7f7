"""Inference: an LRU cache of loaded Detectors, and embed / reconstruct / anomalies on rows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from models import CheckpointError, Detector, InvalidInput
from service.domain.arrays import FloatArray, check_width, records_to_array, rows_to_array
from service.domain.registry import finite_or_none, load_checkpoint, resolve_ref, save_recalibrated
from service.errors import BadRows, ServiceError, TooManyRows
from service.store.tables import ModelVersion


class DetectorCache:
    """Loaded Detectors by checkpoint blob, least recently used evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[int, Detector] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, version: ModelVersion) -> Detector:
        """The version's Detector, loaded once."""
        key = version.checkpoint_blob_id
        with self._lock:
            if key in self._items:
                self.hits += 1
                self._items.move_to_end(key)
                return self._items[key]
        detector = _load(session, version)
        with self._lock:
            self.misses += 1
            self._items[key] = detector
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return detector


def _load(session: Session, version: ModelVersion) -> Detector:
    try:
        return Detector.from_bytes(load_checkpoint(session, version), device="cpu")
    except CheckpointError as exc:
        raise ServiceError(
            f"the checkpoint of version {version.version} is unusable: {exc}"
        ) from exc


@dataclass(frozen=True)
class Rows:
    """Rows as sent: a parsed `.npy` array, `instances` (lists) or `records` (objects)."""

    array: FloatArray | None = None
    instances: object = None
    records: object = None


@dataclass(frozen=True)
class Target:
    """The Detector that answers and the name and version it is registered under."""

    model: str
    version: int
    detector: Detector
    columns: list[str]


def find_target(session: Session, cache: DetectorCache, ref: str) -> Target:
    """Resolve `{ref}` and load its Detector."""
    model, version = resolve_ref(session, ref)
    detector = cache.get(session, version)
    return Target(model.name, version.version, detector, list(version.columns))


def rows_for(target: Target, rows: Rows, *, max_rows: int) -> FloatArray:
    """The request's rows as an (n, d) array in the model's column order, checked."""
    if rows.array is not None:
        x = rows.array
        field = "body"
    elif rows.records is not None:
        x, field = records_to_array(rows.records, columns=target.columns), "records"
    else:
        x, field = (
            rows_to_array(rows.instances, field="instances", columns=target.columns),
            "instances",
        )
    if x.shape[0] > max_rows:
        raise TooManyRows(f"{x.shape[0]} rows sent; at most {max_rows} per request")
    return check_width(x, width=len(target.columns), field=field)


def _engine_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except InvalidInput as exc:
        loc: list[str | int] = ["body"]
        if exc.row is not None:
            loc.append(exc.row)
        if exc.column is not None:
            loc.append(exc.column)
        raise BadRows(str(exc), errors=[{"loc": loc, "msg": str(exc)}]) from exc


def embed(target: Target, x: FloatArray, *, layer: int | None) -> FloatArray:
    """Hidden-layer activations (the code by default)."""
    if layer is not None:
        indices = [info.index for info in target.detector.layers()]
        if layer not in indices:
            msg = f"layer: must be one of {indices}"
            raise BadRows(msg, errors=[{"loc": ["body", "layer"], "msg": msg}])
    return np.asarray(_engine_call(target.detector.embed, x, layer=layer))


def reconstruct(target: Target, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Reconstructions in original units and each row's anomaly score."""
    rebuilt = np.asarray(_engine_call(target.detector.reconstruct, x))
    return rebuilt, np.asarray(_engine_call(target.detector.score, x))


@dataclass(frozen=True)
class Anomalies:
    """Scores, p-values and flags for a batch, with optional explanations."""

    alpha: float
    threshold: float | None
    scores: FloatArray
    p_values: FloatArray
    is_anomaly: np.ndarray[Any, np.dtype[np.bool_]]
    explanations: list[list[dict[str, Any]]] | None


def anomalies(
    target: Target, x: FloatArray, *, alpha: float | None, explain: int | None
) -> Anomalies:
    """Conformal p-values, flags at `alpha`, and the top-`explain` features per row."""
    detector = target.detector
    alpha = float(alpha if alpha is not None else detector.config_.calibration.alpha)
    scores = np.asarray(_engine_call(detector.score, x))
    p_values = detector.calibration_.p_values(scores)  # from the same scores: one forward pass
    explanations = None
    if explain:
        k = min(explain, len(target.columns))
        explanations = _engine_call(detector.explain, x, k)
    return Anomalies(
        alpha=alpha,
        threshold=finite_or_none(_engine_call(detector.threshold, alpha)),
        scores=scores,
        p_values=p_values,
        is_anomaly=p_values <= alpha,
        explanations=explanations,
    )


def calibrate(session: Session, cache: DetectorCache, ref: str, x: FloatArray) -> Target:
    """Recalibrate a version on normal rows without retraining; returns the new target."""
    model, version = resolve_ref(session, ref)
    detector = Detector.from_bytes(load_checkpoint(session, version), device="cpu")
    x = check_width(x, width=len(version.columns), field="instances")
    _engine_call(detector.recalibrate, x)
    save_recalibrated(session, version, detector)
    return Target(model.name, version.version, detector, list(version.columns))
