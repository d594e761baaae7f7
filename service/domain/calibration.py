"""Recalibration: new normal rows make a new version that shares the weights of the old one.

Versions are immutable, so the production alias keeps answering as it did until a user moves it;
the new version records where its calibration came from. Too few rows for the version's alpha
(the smallest p-value n rows give is 1 / (n + 1)) are refused, naming the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import Detector
from models.calibration import rows_to_reach
from models.serialization import calibration_to_bytes
from service.domain.arrays import FloatArray, check_width
from service.domain.inference import engine_call
from service.domain.lookup import DetectorCache
from service.domain.projection import sample_of
from service.domain.registry import calibration_metrics, resolve_ref
from service.errors import BadRows
from service.store import blobs
from service.store import registry as store
from service.store.tables import ModelVersion


@dataclass(frozen=True)
class Recalibrated:
    """The version a recalibration registered, the one it came from, and its Detector."""

    model: str
    version: ModelVersion
    from_version: int
    detector: Detector


def recalibrate(
    session: Session,
    cache: DetectorCache,
    ref: str,
    x: FloatArray,
    *,
    source: dict[str, Any],
    field: str,
) -> Recalibrated:
    """Register a new version of `ref`'s model: its weights, calibrated on the rows `x`."""
    model, version = resolve_ref(session, ref)
    detector = cache.get(session, version)
    x = check_width(x, width=len(version.columns), field=field)
    alpha = detector.config_.calibration.alpha
    needed = rows_to_reach(alpha)
    if x.shape[0] < needed:
        msg = (
            f"{field}: {x.shape[0]} rows are too few to calibrate at alpha {alpha:g}; at least "
            f"{needed} are needed"
        )
        raise BadRows(msg, errors=[{"loc": ["body", field], "msg": msg}])
    calibration = engine_call(detector.calibrated_on, x)
    recalibrated = detector.with_calibration(calibration)
    blob = blobs.write_blob(session, [calibration_to_bytes(calibration)])
    sample = blobs.write_blob(session, [sample_of(x)])
    new = store.add_version(
        session,
        store.get_or_add_model(session, model.name),
        run_id=version.run_id,
        checkpoint_blob_id=version.checkpoint_blob_id,
        columns=list(version.columns),
        code_size=version.code_size,
        metrics={**version.metrics, **calibration_metrics(recalibrated)},
        calibration_blob_id=blob.id,
        calibration_source={**source, "rows": int(x.shape[0]), "from_version": version.version},
        layer_stats=version.layer_stats,  # the same weights
        sample_blob_id=sample.id,
    )
    return Recalibrated(model.name, new, version.version, recalibrated)
