"""Inference: an LRU cache of loaded Detectors, and embed / reconstruct / anomalies on rows."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from cachetools import LRUCache
from sqlalchemy.orm import Session

from models import CheckpointError, Detector, InvalidInput
from models.decision import Assessment
from models.serialization import calibration_from_bytes
from service.domain.arrays import FloatArray, check_width, records_to_array, rows_to_array
from service.domain.registry import load_calibration, load_checkpoint, resolve_ref
from service.errors import BadRows, ServiceError, TooManyRows
from service.store.tables import ModelVersion


class DetectorCache:
    """Loaded Detectors by checkpoint blob, least recently used evicted first (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: LRUCache[tuple[int, int | None], Detector] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, session: Session, version: ModelVersion) -> Detector:
        """The version's Detector, loaded once (a load happens outside the lock)."""
        key = (version.checkpoint_blob_id, version.calibration_blob_id)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self.hits += 1
                return found
        detector = _load(session, version)
        with self._lock:
            self.misses += 1
            self._items[key] = detector
        return detector


def _load(session: Session, version: ModelVersion) -> Detector:
    """The checkpoint's Detector, with the version's own calibration when it has one."""
    try:
        detector = Detector.from_bytes(load_checkpoint(session, version), device="cpu")
        calibration = load_calibration(session, version)
        if calibration is None:
            return detector
        return detector.with_calibration(calibration_from_bytes(calibration))
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
    may_hold_booleans: bool = True  # False when the JSON text has no `true` or `false` at all


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
