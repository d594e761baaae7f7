"""Use cases for datasets: upload, list, read, delete, load as an array."""

from __future__ import annotations

from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from service.domain.arrays import FloatArray, array_from_npy_chunks, npy_pieces
from service.domain.uploads import UploadOptions, read_upload, table_from_json
from service.errors import BadRows, DatasetInUse, DatasetNotFound
from service.store import blobs
from service.store import datasets as store
from service.store.tables import Dataset


def create_dataset_from_file(
    session: Session,
    file: BinaryIO,
    *,
    filename: str | None,
    name: str | None,
    options: UploadOptions | None = None,
) -> Dataset:
    """Parse an uploaded file, check it, store it as a blob and record the dataset."""
    blocks, columns = read_upload(file, filename, options)
    default = (filename or "dataset").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "dataset"
    return _save(session, blocks, columns=columns, name=name or default)


def create_dataset_from_rows(
    session: Session, *, name: str | None, columns: list[str] | None, rows: Any
) -> Dataset:
    """JSON rows (a list of equally long lists of numbers) and optional column names → a dataset."""
    x, names = table_from_json({"columns": columns, "rows": rows})
    return _save(session, [x], columns=names, name=name or "dataset")


def _save(session: Session, blocks: list[FloatArray], *, columns: list[str], name: str) -> Dataset:
    n_rows = sum(block.shape[0] for block in blocks)
    if n_rows < 2:
        msg = f"the table has {n_rows} row; at least 2 are needed"
        raise BadRows(msg, errors=[{"loc": ["body"], "msg": msg}])
    blob = blobs.write_blob(session, npy_pieces(blocks))
    return store.add_dataset(session, name=name[:200], columns=columns, n_rows=n_rows, blob=blob)


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    """The dataset, or DatasetNotFound."""
    dataset = store.get_dataset(session, dataset_id)
    if dataset is None:
        raise DatasetNotFound(f"dataset {dataset_id} does not exist")
    return dataset


def list_datasets(session: Session, *, limit: int, offset: int) -> tuple[list[Dataset], int]:
    """A page of datasets and the total."""
    return store.list_datasets(session, limit=limit, offset=offset)


def delete_dataset(session: Session, dataset_id: int) -> None:
    """Delete a dataset that no run references."""
    dataset = get_dataset(session, dataset_id)
    if store.count_runs_using(session, dataset_id):
        raise DatasetInUse(f"dataset {dataset_id} is referenced by runs")
    if store.count_sweeps_using(session, dataset_id):
        raise DatasetInUse(f"dataset {dataset_id} is referenced by sweeps")
    blob_id = dataset.blob_id
    store.delete_dataset(session, dataset)
    blobs.delete_blob_if_unused(session, blob_id)


def load_dataset_array(session: Session, dataset_id: int) -> tuple[FloatArray, list[str]]:
    """The dataset's rows and column names."""
    dataset = get_dataset(session, dataset_id)
    x = array_from_npy_chunks(blobs.iter_blob(session, dataset.blob_id))
    return x, list(dataset.columns)
