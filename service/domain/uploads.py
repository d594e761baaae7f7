"""Uploaded files (CSV, Parquet, `.npy`, JSON) → a float table and its column names."""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from service.domain.arrays import FloatArray, check_finite, npy_to_array, rows_to_array
from service.errors import BadRows

Table = tuple[FloatArray, list[str]]


def _bad(msg: str, *loc: str | int) -> BadRows:
    return BadRows(msg, errors=[{"loc": ["body", "file", *loc], "msg": msg}])


def sniff_format(head: bytes, filename: str | None) -> str:
    """`npy`, `parquet`, `json` or `csv`, from the file's first bytes, then its name."""
    if head.startswith(b"\x93NUMPY"):
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
        x = npy_to_array(file.read(), field="file")
        return x, [f"f{i}" for i in range(x.shape[1])]
    if kind == "json":
        return table_from_json(_load_json(file.read()))
    if kind == "parquet":
        return table_from_arrow(_read_parquet(file))
    return table_from_arrow(_read_csv(file))


def _load_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"file: not valid JSON ({exc})") from exc


def _read_parquet(file: BinaryIO) -> pa.Table:
    try:
        table = pq.read_table(file)
        table.column_names  # noqa: B018 -- decodes the schema now, inside this try
        return table
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise _bad(f"file: not a readable Parquet file ({exc})") from exc


def _read_csv(file: BinaryIO) -> pa.Table:
    try:
        table = pa_csv.read_csv(file)
        table.column_names  # noqa: B018 -- decodes the header now, inside this try
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        raise _bad(f"file: not a well-formed UTF-8 CSV table ({exc})") from exc
    return table


def table_from_json(body: Any) -> Table:
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


def table_from_arrow(table: pa.Table) -> Table:
    """An Arrow table of numeric columns → a float table, naming the first bad column and row."""
    if table.num_columns == 0 or table.num_rows == 0:
        raise _bad("file: the table is empty")
    columns = [str(name) for name in table.column_names]
    for name, column in zip(columns, table.columns, strict=True):
        _check_arrow_column(name, column)
    x = np.column_stack([c.to_numpy().astype(np.float64) for c in table.columns])
    return check_finite(x, field="file", columns=columns), check_columns(columns, len(columns))


def _check_arrow_column(name: str, column: pa.ChunkedArray) -> None:
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        row, value = _first_non_number(column)
        msg = f"row {row}, column {name!r}: {value!r} is not a number"
        raise _bad(msg, row, name)
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise _bad(f"row {row}, column {name!r}: value is missing or NaN", row, name)


def _first_non_number(column: pa.ChunkedArray) -> tuple[int, object]:
    for row, value in enumerate(column.to_pylist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return row, value
    return 0, column.type.__str__()
