"""Queries on models, versions and aliases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.store import generations
from service.store.db import insert
from service.store.tables import Model, ModelAlias, ModelVersion, utcnow


def get_model(session: Session, name: str) -> Model | None:
    """The model with this name, if any."""
    return session.scalar(select(Model).where(Model.name == name))


def get_or_add_model(session: Session, name: str) -> Model:
    """The model with this name, created if needed; locked for a version bump."""
    model = session.scalar(select(Model).where(Model.name == name).with_for_update())
    if model is None:
        model = Model(name=name, latest_version=0)
        session.add(model)
        session.flush()
    return model


def list_models(session: Session) -> list[Model]:
    """Every model by name."""
    return list(session.scalars(select(Model).order_by(Model.name)).all())


def add_version(
    session: Session,
    model: Model,
    *,
    run_id: int | None,
    checkpoint_blob_id: int,
    columns: list[str],
    code_size: int,
    metrics: dict[str, Any],
    calibration_blob_id: int | None = None,
    calibration_source: dict[str, Any] | None = None,
    layer_stats: dict[str, Any] | None = None,
    sample_blob_id: int | None = None,
) -> ModelVersion:
    """Register the next version of `model` (numbers are never reused, even after a delete)."""
    model.latest_version += 1
    version = ModelVersion(model_id=model.id, version=model.latest_version, run_id=run_id)
    version.checkpoint_blob_id, version.n_features = checkpoint_blob_id, len(columns)
    version.columns, version.code_size, version.metrics = columns, code_size, metrics
    version.calibration_blob_id, version.calibration_source = (
        calibration_blob_id,
        calibration_source,
    )
    version.layer_stats = layer_stats
    version.sample_blob_id = sample_blob_id
    generations.bump(session, generations.REGISTRY)
    return insert(session, version)


def newest_version(session: Session, model_id: int) -> int | None:
    """The highest version number that still exists."""
    query = select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model_id)
    return session.scalar(query)


def delete_version(session: Session, version: ModelVersion) -> None:
    """Delete one version row (its blobs are dropped separately when unused)."""
    generations.bump(session, generations.REGISTRY)
    session.delete(version)
    session.flush()


def delete_model(session: Session, model: Model) -> None:
    """Delete a model; its versions and aliases go with it (ON DELETE CASCADE, and here)."""
    generations.bump(session, generations.REGISTRY)
    session.execute(delete(ModelAlias).where(ModelAlias.model_id == model.id))
    session.execute(delete(ModelVersion).where(ModelVersion.model_id == model.id))
    session.delete(model)
    session.flush()


def forget_run(session: Session, run_id: int) -> None:
    """Versions a deleted run registered keep existing, without their run."""
    session.execute(update(ModelVersion).where(ModelVersion.run_id == run_id).values(run_id=None))


def get_version(session: Session, model_id: int, number: int) -> ModelVersion | None:
    """One version of a model."""
    query = select(ModelVersion).where(
        ModelVersion.model_id == model_id, ModelVersion.version == number
    )
    return session.scalar(query)


def list_versions(session: Session, model_id: int) -> list[ModelVersion]:
    """Every version of a model, oldest first."""
    query = select(ModelVersion).where(ModelVersion.model_id == model_id)
    return list(session.scalars(query.order_by(ModelVersion.version)).all())


def aliases_of(session: Session, model_id: int) -> dict[str, int]:
    """alias → version for one model."""
    query = select(ModelAlias).where(ModelAlias.model_id == model_id).order_by(ModelAlias.alias)
    return {row.alias: row.version for row in session.scalars(query).all()}


def set_alias(session: Session, model_id: int, *, alias: str, version: int) -> None:
    """Point an alias at a version (insert or move)."""
    generations.bump(session, generations.REGISTRY)
    row = session.get(ModelAlias, (model_id, alias))
    if row is None:
        session.add(ModelAlias(model_id=model_id, alias=alias, version=version))
    else:
        row.version = version
        row.updated_at = utcnow()
    session.flush()


def delete_alias(session: Session, model_id: int, alias: str) -> bool:
    """Remove an alias; False when it did not exist."""
    row = session.get(ModelAlias, (model_id, alias))
    if row is None:
        return False
    generations.bump(session, generations.REGISTRY)
    session.execute(
        delete(ModelAlias).where(ModelAlias.model_id == model_id, ModelAlias.alias == alias)
    )
    return True
