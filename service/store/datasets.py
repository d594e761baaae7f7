"""Queries on datasets."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store.db import insert
from service.store.tables import FINISHED, Blob, Dataset, Run, Sweep


def add_dataset(
    session: Session,
    *,
    name: str,
    columns: list[str],
    n_rows: int,
    blob: Blob,
) -> Dataset:
    """Insert a dataset row for the table stored in `blob` (its hash and size are the dataset's)."""
    dataset = Dataset(name=name, columns=columns, n_rows=n_rows, n_features=len(columns))
    dataset.sha256, dataset.size_bytes, dataset.blob_id = (
        blob.sha256 or "",
        blob.size_bytes,
        blob.id,
    )
    return insert(session, dataset)


def get_dataset(session: Session, dataset_id: int) -> Dataset | None:
    """The dataset with this id, if any."""
    return session.get(Dataset, dataset_id)


def list_datasets(session: Session, *, limit: int, offset: int) -> tuple[list[Dataset], int]:
    """A page of datasets, newest first, and the total count."""
    total = session.scalar(select(func.count()).select_from(Dataset)) or 0
    rows = session.scalars(
        select(Dataset).order_by(Dataset.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def count_runs_using(session: Session, dataset_id: int) -> int:
    """How many runs (in any state) reference the dataset."""
    query = select(func.count()).select_from(Run).where(Run.dataset_id == dataset_id)
    return session.scalar(query) or 0


def count_sweeps_using(session: Session, dataset_id: int) -> int:
    """How many sweeps train on the dataset, or (while they run) score on it as labels."""
    trained = select(func.count()).select_from(Sweep).where(Sweep.dataset_id == dataset_id)
    active = session.scalars(select(Sweep).where(Sweep.status.not_in(list(FINISHED)))).all()
    labels = [
        s
        for s in active
        if (s.request["objective"].get("labels") or {}).get("dataset_id") == dataset_id
    ]
    return (session.scalar(trained) or 0) + len(labels)


def delete_dataset(session: Session, dataset: Dataset) -> None:
    """Delete the dataset row (its blob is dropped separately when unused)."""
    session.delete(dataset)
    session.flush()
