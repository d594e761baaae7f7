"""Rows in, arrays out: numpy arrays (and lists) travel as `.npy`, pandas DataFrames as Arrow IPC
(their column names let the service put them in the model's order); pandas stays optional."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

NPY = "application/x-npy"
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
UPLOAD_TYPES = {".csv": "text/csv", ".npy": NPY, ".parquet": PARQUET, ".pq": PARQUET}


def is_frame(rows: object) -> bool:
    """A pandas DataFrame (recognised without importing pandas)."""
    return hasattr(rows, "columns") and hasattr(rows, "to_numpy") and hasattr(rows, "dtypes")


def is_table(rows: object) -> bool:
    """A pyarrow Table (its column names travel with it)."""
    return hasattr(rows, "schema") and hasattr(rows, "to_batches")


def to_npy(array: np.ndarray) -> bytes:
    """`.npy` bytes, never pickled."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    """An array from `.npy` bytes, refusing pickled objects."""
    array: np.ndarray = np.load(io.BytesIO(data), allow_pickle=False)
    return array


def as_rows(rows: Any) -> np.ndarray:
    """Rows as a 2-D float array (one row may be given as a flat sequence)."""
    array = np.asarray(rows, dtype=np.float64)
    return array[None, :] if array.ndim == 1 else array


def rows_body(rows: Any) -> tuple[bytes, str]:
    """The request body for rows and its content type."""
    if is_frame(rows) or is_table(rows):
        return _to_arrow(rows), ARROW
    return to_npy(as_rows(rows)), NPY


def _to_arrow(rows: Any) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(rows, preserve_index=False) if is_frame(rows) else rows
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def upload_body(data: Any, *, columns: list[str] | None) -> tuple[bytes, str]:
    """A dataset upload: a file's bytes (typed by its suffix), a DataFrame or named columns as
    Parquet, else an array as `.npy` (columns f0…fn)."""
    if isinstance(data, str | Path):
        path = Path(data)
        kind = UPLOAD_TYPES.get(path.suffix.lower())
        if kind is None:
            raise ValueError(f"{path}: send .csv, .npy or .parquet (or read it into an array)")
        return path.read_bytes(), kind
    if is_frame(data) or columns is not None:
        return _to_parquet(data, columns), PARQUET
    return to_npy(as_rows(data)), NPY


def _to_parquet(data: Any, columns: list[str] | None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if is_frame(data):
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        array = as_rows(data)
        names = columns or [f"f{i}" for i in range(array.shape[1])]
        table = pa.table({name: array[:, i] for i, name in enumerate(names)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
