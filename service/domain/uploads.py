"""Uploaded files (CSV, Parquet, `.npy`, JSON) → a float table and its column names."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from service.domain.arrays import NPY_MAGIC, FloatArray, check_finite, npy_to_array, rows_to_array
from service.errors import BadRows

Table = tuple[list[FloatArray], list[str]]  # row blocks, so a big file is never held twice
BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 1 << 22


def _bad(msg: str, *loc: str | int) -> BadRows:
    return BadRows(msg, errors=[{"loc": ["body", "file", *loc], "msg": msg}])


def sniff_format(head: bytes, filename: str | None) -> str:
    """`npy`, `parquet`, `json` or `csv`, from the file's first bytes, then its name."""
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(b"PAR1"):
        return "parquet"
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix in ("json", "npy", "parquet", "csv"):
        return suffix
    return "json" if head.lstrip()[:1] in (b"{", b"[") else "csv"


def read_upload(file: BinaryIO, filename: str | None) -> Table:
    """Parse an uploaded file by its format."""
    head = file.read(8)
    file.seek(0)
    kind = sniff_format(head, filename)
    if kind == "npy":
        x = npy_to_array(file, field="file")
        return [x], [f"f{i}" for i in range(x.shape[1])]
    if kind == "json":
        x, columns = table_from_json(_load_json(file.read()))
        return [x], columns
    if kind == "parquet":
        return _read_batches(lambda: pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS))
    try:
        return _read_batches(lambda: _open_csv(file))
    except BadRows:
        raise _first_bad_csv_cell(file) from None


def _load_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"file: not valid JSON ({exc})") from exc


def _read_batches(open_reader: Callable[[], Iterable[pa.RecordBatch]]) -> Table:
    """Convert record batches one at a time; Arrow's copy of a batch is dropped after it."""
    blocks: list[FloatArray] = []
    columns: list[str] = []
    try:
        for batch in open_reader():
            columns = [str(name) for name in batch.schema.names]
            blocks.append(_batch_to_array(batch, columns, sum(len(b) for b in blocks)))
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _bad(f"file: not a well-formed table ({exc})") from exc
    if not columns or not blocks or not sum(len(b) for b in blocks):
        raise _bad("file: the table is empty")
    return blocks, check_columns(columns, len(columns))


def _open_csv(file: BinaryIO) -> Iterable[pa.RecordBatch]:
    """Every column read as float64, so a late `1.5` in an integer-looking column is fine."""
    names = next(csv.reader([file.readline().decode("utf-8-sig")]), [])
    file.seek(0)
    convert = pa_csv.ConvertOptions(column_types={name: pa.float64() for name in names})
    read = pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    reader: Iterable[pa.RecordBatch] = pa_csv.open_csv(
        file, read_options=read, convert_options=convert
    )
    return reader


def _first_bad_csv_cell(file: BinaryIO) -> BadRows:
    """Arrow does not say which row failed: find the first bad cell with the csv module."""
    file.seek(0)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    try:
        return _scan_csv(csv.reader(text))
    finally:
        text.detach()  # the upload's file stays open for its owner to close


def _scan_csv(rows: Iterator[list[str]]) -> BadRows:
    names = next(rows, [])
    for i, row in enumerate(row for row in rows if row):  # Arrow skips empty lines too
        if len(row) != len(names):
            return _bad(f"row {i}: has {len(row)} values, the header has {len(names)}", i)
        for name, value in zip(names, row, strict=True):
            if value.strip().lower() in ("", "nan", "null", "na", "n/a"):
                return _bad(f"row {i}, column {name!r}: value is missing or NaN", i, name)
            try:
                number = float(value)
            except ValueError:
                return _bad(f"row {i}, column {name!r}: {value!r} is not a number", i, name)
            if not math.isfinite(number):
                return _bad(f"row {i}, column {name!r}: value is infinite", i, name)
    return _bad("file: not a well-formed CSV table")


def _batch_to_array(batch: pa.RecordBatch, columns: list[str], offset: int) -> FloatArray:
    for name, column in zip(columns, batch.columns, strict=True):
        _check_arrow_column(name, column, offset)
    x = np.empty((batch.num_rows, len(columns)), dtype=np.float64)
    for j, column in enumerate(batch.columns):
        x[:, j] = column.to_numpy(zero_copy_only=False)
    return check_finite(x, field="file", columns=columns, row_offset=offset)


def table_from_json(body: Any) -> tuple[FloatArray, list[str]]:
    """`{"columns", "rows"}`, a list of rows, or a list of records → a table."""
    if isinstance(body, dict):
        columns = body.get("columns")
        x = rows_to_array(body.get("rows"), field="rows", columns=columns)
        return x, check_columns(columns, x.shape[1])
    if isinstance(body, list) and body and all(isinstance(r, dict) for r in body):
        names = list(body[0])
        rows = [[record.get(name) for name in names] for record in body]
        x = rows_to_array(rows, field="rows", columns=names)
        return x, check_columns(names, x.shape[1])
    x = rows_to_array(body, field="rows")
    return x, check_columns(None, x.shape[1])


def check_columns(columns: object, width: int) -> list[str]:
    """Column names as given (unique strings, one per column), or `f0…fn`."""
    if columns is None:
        return [f"f{i}" for i in range(width)]
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        raise BadRows(errors=[{"loc": ["body", "columns"], "msg": "must be a list of names"}])
    if len(columns) != width:
        msg = f"columns: {len(columns)} names for {width} values per row"
        raise BadRows(msg, errors=[{"loc": ["body", "columns"], "msg": msg}])
    if len(set(columns)) != len(columns):
        msg = "columns: names must be unique"
        raise BadRows(msg, errors=[{"loc": ["body", "columns"], "msg": msg}])
    return list(columns)


def _check_arrow_column(name: str, column: pa.Array, offset: int) -> None:
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        row, value = _first_non_number(column)
        msg = f"row {offset + row}, column {name!r}: {value!r} is not a number"
        raise _bad(msg, offset + row, name)
    if column.null_count:
        row = offset + int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise _bad(f"row {row}, column {name!r}: value is missing or NaN", row, name)


def _first_non_number(column: pa.Array) -> tuple[int, object]:
    for row, value in enumerate(column.to_pylist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return row, value
    return 0, column.type.__str__()
