"""Rows as float arrays: from JSON rows/records and `.npy` bytes, with errors that name the cell."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

import numpy as np

from service.errors import BadRows, shown

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
NPY_MAGIC = b"\x93NUMPY"
NPY_MAX_HEADER = 10 + 65_535


def _bad(loc: Sequence[str | int], msg: str) -> BadRows:
    return BadRows(msg, errors=[{"loc": list(loc), "msg": msg}])


def _column_name(columns: Sequence[str] | None, index: int) -> str | int:
    return columns[index] if columns is not None and index < len(columns) else index


def rows_to_array(
    rows: object,
    *,
    field: str,
    columns: Sequence[str] | None = None,
    may_hold_booleans: bool = True,
    may_hold_strings: bool = True,
) -> FloatArray:
    """A JSON list of equally long lists of numbers → (n, d) float64, or BadRows naming the cell.

    numpy reads `true` as 1: unless the caller knows the JSON held no boolean
    (`may_hold_booleans=False`, e.g. from its raw bytes), every cell's type is checked.
    """
    if not isinstance(rows, list) or not rows:
        raise _bad(["body", field], f"{field}: must be a non-empty list of rows")
    # Read as float64 at once only when the JSON text can hold nothing but numbers among the
    # rows: numpy would turn "1.5" and true into numbers. Else infer the type and check it.
    plain = not (may_hold_booleans or may_hold_strings)
    try:
        array = np.asarray(rows, dtype=np.float64) if plain else np.array(rows)
    except (ValueError, TypeError, RecursionError):
        array = None
    if (
        array is not None
        and array.ndim == 2
        and array.dtype.kind in "iuf"
        and array.shape[1] > 0
        and not (may_hold_booleans and _has_boolean(rows))
    ):
        return check_finite(array.astype(np.float64, copy=False), field=field, columns=columns)
    raise _first_bad_row(rows, field=field, columns=columns)


def _has_boolean(rows: list[Any]) -> bool:
    return any(type(value) is bool for row in rows for value in row)


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
                msg = f"row {i}, column {shown(name)}: {shown(value)} is not a number"
                return _bad(["body", field, i, name], msg)
    return _bad(["body", field], f"{field}: must be a 2-D table of numbers")


def check_finite(
    x: FloatArray, *, field: str, columns: Sequence[str] | None = None, row_offset: int = 0
) -> FloatArray:
    """Return `x` if every value is finite, else BadRows naming the first NaN/Inf cell."""
    if np.isfinite(x).all():
        return x
    row, col = (int(v) for v in np.argwhere(~np.isfinite(x))[0])
    name = _column_name(columns, col)
    kind = "NaN" if np.isnan(x[row, col]) else "infinite"
    row += row_offset
    raise _bad(["body", field, row, name], f"row {row}, column {name!r}: value is {kind}")


def check_width(x: FloatArray, *, width: int, field: str) -> FloatArray:
    """Return `x` if it has `width` columns, else BadRows."""
    if x.ndim != 2 or x.shape[1] != width:
        got = x.shape[1] if x.ndim == 2 else f"a {x.ndim}-D array"
        msg = f"{field}: row 0 (and every row) has {got} values; the model expects {width}"
        raise _bad(["body", field, 0], msg)
    return x


def records_to_array(
    records: object, *, columns: Sequence[str], may_hold_booleans: bool = True
) -> FloatArray:
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
    return rows_to_array(
        rows, field="records", columns=columns, may_hold_booleans=may_hold_booleans
    )


def npy_to_array(data: bytes | BinaryIO, *, field: str = "body") -> FloatArray:
    """A `.npy` 2-D numeric array (bytes or a file) → float64, never unpickling.

    The header is checked against the bytes that follow it before anything is allocated: a
    130-byte file that claims 10^14 elements is refused, not a MemoryError. Bytes are read
    with the header parsed once (np.load would parse it again: a tenth of a 1,000-row request).
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        shape, fortran, dtype = _checked_npy_header(stream, field)
        if isinstance(data, bytes):
            flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=stream.tell())
            array = flat.reshape(shape, order="F" if fortran else "C")
        else:
            stream.seek(0)
            array = np.load(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _bad([field], f"{field}: not a readable .npy array ({exc})") from exc
    if not isinstance(array, np.ndarray) or array.ndim != 2 or array.dtype.kind not in "iuf":
        raise _bad([field], f"{field}: must be a 2-D numeric .npy array")
    if array.size == 0:
        raise _bad([field], f"{field}: must not be empty")
    # A copy, as np.load makes: the rows must not stay a read-only view of the request body.
    return check_finite(array.astype(np.float64, order="C"), field=field)


def _checked_npy_header(
    stream: BinaryIO, field: str
) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """The header's shape, order and dtype, the stream left at the first data byte."""
    version = np.lib.format.read_magic(stream)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = read_header(stream)
    if dtype.hasobject:
        raise _bad([field], f"{field}: object arrays are refused (they would need unpickling)")
    start = stream.tell()
    available = stream.seek(0, io.SEEK_END) - start
    stream.seek(start)
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != available:
        msg = f"{field}: the .npy header claims {claimed:,} bytes of data; {available:,} follow it"
        raise _bad([field], msg)
    return shape, fortran, dtype


def array_to_npy(x: np.ndarray[Any, Any]) -> bytes:
    """Serialise an array as `.npy` bytes."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(x), allow_pickle=False)
    return buffer.getvalue()


def npy_pieces(blocks: Sequence[FloatArray]) -> Iterator[bytes | memoryview]:
    """The `.npy` encoding of the stacked row blocks: a header, then views of their buffers."""
    width = blocks[0].shape[1]
    shape = (sum(block.shape[0] for block in blocks), width)
    header = io.BytesIO()
    fields = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(header, fields)
    yield header.getvalue()
    for block in blocks:
        yield np.ascontiguousarray(block, dtype="<f8").reshape(-1).data.cast("B")


def array_from_npy_chunks(chunks: Iterable[bytes]) -> FloatArray:
    """Rebuild an array stored by `npy_pieces`, filling one buffer chunk by chunk."""
    iterator = iter(chunks)
    first = b""
    for chunk in iterator:  # a version-1 header is at most 10 + 65535 bytes
        first += chunk
        if len(first) >= NPY_MAX_HEADER:
            break
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
