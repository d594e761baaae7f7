"""Use cases for the registry: register versions, resolve `{ref}`, aliases, delete.

Versions are immutable: training registers one, a recalibration registers another that shares
its weights (service/domain/calibration.py); nothing rewrites a version in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import Detector, LayerInfo
from service.errors import ModelNotFound, VersionInUse
from service.store import blobs
from service.store import registry as store
from service.store.tables import Model, ModelVersion

DEFAULT_ALIAS = "production"
MAX_VERSION = 2**31 - 1  # an INTEGER column on both databases


@dataclass(frozen=True)
class ModelSummary:
    """A model's name, newest version and aliases."""

    name: str
    latest_version: int | None  # the newest version that exists (None: all were deleted)
    aliases: dict[str, int]


@dataclass(frozen=True)
class ModelDetail:
    """A model with all its versions."""

    name: str
    aliases: dict[str, int]
    versions: list[ModelVersion]


def finite_or_none(value: float) -> float | None:
    """JSON has no Infinity: an unreachable threshold (too few calibration rows) is null."""
    return float(value) if math.isfinite(value) else None


def detector_metrics(detector: Detector) -> dict[str, Any]:
    """The metrics a run and its version report."""
    val_loss = detector.val_loss_
    return {
        "train_loss": float(detector.train_loss_),
        "val_loss": None if val_loss is None else float(val_loss),
        "best_epoch": int(detector.best_epoch_),
        "seconds": float(detector.fit_seconds_),
        **calibration_metrics(detector),
    }


def calibration_metrics(detector: Detector) -> dict[str, Any]:
    """What the calibration gives at the configured alpha: the threshold, how many rows make the
    p-values and how many the fence left out, and `warnings` (an alpha out of reach)."""
    return {
        "threshold": finite_or_none(detector.threshold()),
        "n_calibration": detector.calibration_.n,
        "calibration_excluded": detector.calibration_.excluded,
        "warnings": detector.warnings(),
    }


def register_version(
    session: Session,
    name: str,
    *,
    run_id: int | None,
    detector: Detector,
    checkpoint: bytes,
    sample: bytes | None = None,
) -> ModelVersion:
    """Store the checkpoint (and the calibration rows' sample, `.npy`) and register them as the
    next version of `name`."""
    blob = blobs.write_blob(session, [checkpoint])
    sample_blob = None if sample is None else blobs.write_blob(session, [sample])
    model = store.get_or_add_model(session, name)
    return store.add_version(
        session,
        model,
        run_id=run_id,
        checkpoint_blob_id=blob.id,
        columns=list(detector.columns_),
        code_size=int(detector.config_.architecture.code_size or 0),
        metrics=detector_metrics(detector),
        calibration_source={
            "split": "training",
            "rows": detector.calibration_.n,
            "excluded": detector.calibration_.excluded,
        },
        layer_stats=detector.layer_stats_,
        sample_blob_id=None if sample_blob is None else sample_blob.id,
    )


def get_model(session: Session, name: str) -> Model:
    """The model, or ModelNotFound."""
    model = store.get_model(session, name)
    if model is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    return model


def _summary(session: Session, model: Model) -> ModelSummary:
    newest = store.newest_version(session, model.id)
    return ModelSummary(model.name, newest, store.aliases_of(session, model.id))


def list_models(session: Session) -> list[ModelSummary]:
    """Every model with its newest version and aliases."""
    return [_summary(session, m) for m in store.list_models(session)]


def describe_model(session: Session, name: str) -> ModelDetail:
    """A model with its aliases and versions."""
    model = get_model(session, name)
    versions = store.list_versions(session, model.id)
    return ModelDetail(model.name, store.aliases_of(session, model.id), versions)


def resolve_ref(session: Session, ref: str) -> tuple[Model, ModelVersion]:
    """`name` (production alias, else latest), `name@3` or `name@alias` → the version.

    A version number is ASCII digits (`@²` or `@١` are alias names, and unknown ones).
    """
    name, _, selector = ref.partition("@")
    model = get_model(session, name)
    if selector.isascii() and selector.isdigit():
        number = int(selector)
        if number > MAX_VERSION:
            raise ModelNotFound(f"model {name!r} has no version {selector}")
    elif selector:
        number = _alias_version(session, model, selector)
    else:
        default = store.aliases_of(session, model.id).get(DEFAULT_ALIAS)
        number = default if default is not None else store.newest_version(session, model.id) or 0
    version = store.get_version(session, model.id, number)
    if version is None:
        raise ModelNotFound(f"model {name!r} has no version {number}")
    return model, version


def _alias_version(session: Session, model: Model, alias: str) -> int:
    aliases = store.aliases_of(session, model.id)
    if alias not in aliases:
        raise ModelNotFound(f"model {model.name!r} has no alias {alias!r}")
    return aliases[alias]


def set_alias(session: Session, name: str, *, alias: str, version: int) -> ModelSummary:
    """Point `alias` at an existing version of `name`."""
    model = get_model(session, name)
    if store.get_version(session, model.id, version) is None:
        raise ModelNotFound(f"model {name!r} has no version {version}")
    store.set_alias(session, model.id, alias=alias, version=version)
    return _summary(session, model)


def delete_alias(session: Session, name: str, alias: str) -> None:
    """Remove an alias, or ModelNotFound."""
    model = get_model(session, name)
    if not store.delete_alias(session, model.id, alias):
        raise ModelNotFound(f"model {name!r} has no alias {alias!r}")


def get_version(session: Session, name: str, number: int) -> tuple[Model, ModelVersion]:
    """One version of a model, or ModelNotFound."""
    model = get_model(session, name)
    version = store.get_version(session, model.id, number)
    if version is None:
        raise ModelNotFound(f"model {name!r} has no version {number}")
    return model, version


def delete_version(session: Session, name: str, number: int) -> None:
    """Delete a version no alias points at, and the blobs nothing else uses any more."""
    model, version = get_version(session, name, number)
    pointing = sorted(a for a, v in store.aliases_of(session, model.id).items() if v == number)
    if pointing:
        raise VersionInUse(
            f"version {number} of {name!r} is the target of alias {pointing[0]!r}: move or "
            "delete the alias first"
        )
    kept = _blobs_of(version)
    store.delete_version(session, version)
    for blob_id in kept:
        blobs.delete_blob_if_unused(session, blob_id)


def delete_model(session: Session, name: str) -> None:
    """Delete a model with every version and alias, and the blobs nothing else uses any more."""
    model = get_model(session, name)
    kept = {blob_id for v in store.list_versions(session, model.id) for blob_id in _blobs_of(v)}
    store.delete_model(session, model)
    for blob_id in kept:
        blobs.delete_blob_if_unused(session, blob_id)


def _blobs_of(version: ModelVersion) -> tuple[int | None, ...]:
    return (version.checkpoint_blob_id, version.calibration_blob_id, version.sample_blob_id)


def load_checkpoint(session: Session, version: ModelVersion) -> bytes:
    """The version's checkpoint bytes (its weights, and the training-time calibration)."""
    return blobs.read_blob(session, version.checkpoint_blob_id)


def load_calibration(session: Session, version: ModelVersion) -> bytes | None:
    """The version's own calibration when it was recalibrated, else None."""
    if version.calibration_blob_id is None:
        return None
    return blobs.read_blob(session, version.calibration_blob_id)


def layer_stats_of(session: Session, ref: str) -> list[dict[str, Any]] | None:
    """Per hidden layer, its end-of-training statistics with the rows they were measured on
    (None for a version trained before they were recorded)."""
    _, version = resolve_ref(session, ref)
    stored = version.layer_stats
    if stored is None:
        return None
    keep = {"rows": stored["rows"], "source": stored["source"]}
    return [keep | layer for layer in stored["layers"]]


def load_sample(session: Session, version: ModelVersion) -> bytes | None:
    """The `.npy` sample of the version's calibration rows, if it was kept."""
    if version.sample_blob_id is None:
        return None
    return blobs.read_blob(session, version.sample_blob_id)


def layers_of(detector: Detector) -> list[LayerInfo]:
    """The hidden layers a client may ask embeddings from."""
    return list(detector.layers())
