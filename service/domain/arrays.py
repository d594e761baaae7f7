"""Rows as float arrays: from JSON rows/records and `.npy` bytes, with errors that name the cell."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from service.errors import BadRows

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
NPY_MAGIC = b"\x93NUMPY"


def _bad(loc: Sequence[str | int], msg: str) -> BadRows:
    return BadRows(msg, errors=[{"loc": list(loc), "msg": msg}])


def _column_name(columns: Sequence[str] | None, index: int) -> str | int:
    return columns[index] if columns is not None and index < len(columns) else index


def rows_to_array(rows: object, *, field: str, columns: Sequence[str] | None = None) -> FloatArray:
    """A JSON list of equally long lists of numbers → (n, d) float64, or BadRows naming the cell."""
    if not isinstance(rows, list) or not rows:
        raise _bad(["body", field], f"{field}: must be a non-empty list of rows")
    try:
        array = np.array(rows)
    except (ValueError, TypeError):
        array = None
    if array is not None and array.ndim == 2 and array.dtype.kind in "iuf" and array.shape[1] > 0:
        return check_finite(array.astype(np.float64, copy=False), field=field, columns=columns)
    raise _first_bad_row(rows, field=field, columns=columns)


def _first_bad_row(rows: list[Any], *, field: str, columns: Sequence[str] | None) -> BadRows:
    width = len(columns) if columns is not None else None
    for i, row in enumerate(rows):
        if not isinstance(row, list) or not row:
            return _bad(["body", field, i], f"row {i}: must be a non-empty list of numbers")
        width = len(row) if width is None else width
        if len(row) != width:
            return _bad(["body", field, i], f"row {i}: has {len(row)} values, expected {width}")
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | float):
                name = _column_name(columns, j)
                msg = f"row {i}, column {name!r}: {value!r} is not a number"
                return _bad(["body", field, i, name], msg)
    return _bad(["body", field], f"{field}: must be a 2-D table of numbers")


def check_finite(x: FloatArray, *, field: str, columns: Sequence[str] | None = None) -> FloatArray:
    """Return `x` if every value is finite, else BadRows naming the first NaN/Inf cell."""
    finite = np.isfinite(x)
    if finite.all():
        return x
    row, col = (int(v) for v in np.argwhere(~finite)[0])
    name = _column_name(columns, col)
    kind = "NaN" if np.isnan(x[row, col]) else "infinite"
    raise _bad(["body", field, row, name], f"row {row}, column {name!r}: value is {kind}")


def check_width(x: FloatArray, *, width: int, field: str) -> FloatArray:
    """Return `x` if it has `width` columns, else BadRows."""
    if x.ndim != 2 or x.shape[1] != width:
        got = x.shape[1] if x.ndim == 2 else f"a {x.ndim}-D array"
        raise _bad(["body", field], f"{field}: rows have {got} values, the model expects {width}")
    return x


def records_to_array(records: object, *, columns: Sequence[str]) -> FloatArray:
    """JSON records (objects keyed by column name) → rows in the model's column order."""
    if not isinstance(records, list) or not records:
        raise _bad(["body", "records"], "records: must be a non-empty list of objects")
    known = set(columns)
    rows: list[list[Any]] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _bad(["body", "records", i], f"record {i}: must be an object")
        unknown = [key for key in record if key not in known]
        if unknown:
            raise _bad(
                ["body", "records", i, unknown[0]], f"record {i}: unknown column {unknown[0]!r}"
            )
        missing = [name for name in columns if name not in record]
        if missing:
            raise _bad(
                ["body", "records", i, missing[0]], f"record {i}: missing column {missing[0]!r}"
            )
        rows.append([record[name] for name in columns])
    return rows_to_array(rows, field="records", columns=columns)


def npy_to_array(data: bytes, *, field: str = "body") -> FloatArray:
    """A `.npy` 2-D numeric array → float64, never unpickling."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _bad([field], f"{field}: not a readable .npy array ({exc})") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 2 or array.dtype.kind not in "iuf":
        raise _bad([field], f"{field}: must be a 2-D numeric .npy array")
    if array.size == 0:
        raise _bad([field], f"{field}: must not be empty")
    return check_finite(array.astype(np.float64, copy=False), field=field)


def array_to_npy(x: np.ndarray[Any, Any]) -> bytes:
    """Serialise an array as `.npy` bytes."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(x), allow_pickle=False)
    return buffer.getvalue()


def npy_pieces(x: FloatArray) -> Iterator[bytes | memoryview]:
    """The `.npy` encoding of `x` as a header and a view of its buffer (no second copy)."""
    x = np.ascontiguousarray(x)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(x))
    yield header.getvalue()
    yield x.reshape(-1).data.cast("B")


def array_from_npy_chunks(chunks: Iterable[bytes]) -> FloatArray:
    """Rebuild an array stored by `npy_pieces`, filling one buffer chunk by chunk."""
    iterator = iter(chunks)
    first = next(iterator)
    stream = io.BytesIO(first)
    np.lib.format.read_magic(stream)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    out = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    target = out.reshape(-1).data.cast("B")
    rest = first[stream.tell() :]
    target[: len(rest)] = rest
    position = len(rest)
    for chunk in iterator:
        target[position : position + len(chunk)] = chunk
        position += len(chunk)
    return out.astype(np.float64, copy=False)
