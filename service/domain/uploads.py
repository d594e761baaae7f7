"""Uploaded files (CSV, Parquet, `.npy`, JSON) → a float table and its column names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from service.domain import csvfiles
from service.domain.arrays import NPY_MAGIC, FloatArray, check_finite, npy_to_array, rows_to_array
from service.domain.csvfiles import HeaderMode, bad
from service.errors import BadRows, shown

Table = tuple[list[FloatArray], list[str]]  # row blocks, so a big file is never held twice
BATCH_ROWS = 65_536
FORMATS = ("csv", "parquet", "npy", "json")


@dataclass(frozen=True)
class UploadOptions:
    """How to read an upload: its format (None: sniffed) and, for CSV, header and delimiter."""

    format: str | None = None
    header: HeaderMode = "auto"
    delimiter: str | None = None


def sniff_format(head: bytes, filename: str | None) -> str:
    """`npy`, `parquet`, `json` or `csv`, from the file's first bytes, then its name."""
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(b"PAR1"):
        return "parquet"
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix in FORMATS:
        return suffix
    return "json" if head.lstrip()[:1] in (b"{", b"[") else "csv"


def read_upload(
    file: BinaryIO, filename: str | None, options: UploadOptions | None = None
) -> Table:
    """Parse an uploaded file by its format."""
    options = options or UploadOptions()
    head = file.read(8)
    file.seek(0)
    if not head:
        raise bad("file: it is empty")
    kind = options.format or sniff_format(head, filename)
    if kind == "npy":
        x = npy_to_array(file, field="file")
        return [x], [f"f{i}" for i in range(x.shape[1])]
    if kind == "json":
        x, columns = table_from_json(_load_json(file.read()))
        return [x], columns
    if kind == "parquet":
        return _read_batches(lambda: pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS))
    layout = csvfiles.read_layout(file, header=options.header, delimiter=options.delimiter)
    wide = csvfiles.read_wide(file, layout) if len(layout.columns) >= csvfiles.WIDE else None
    if wide is not None:
        return [wide], layout.columns
    try:
        blocks, _ = _read_batches(lambda: csvfiles.open_batches(file, layout))
    except BadRows:
        raise csvfiles.first_bad_cell(file, layout) from None
    return blocks, layout.columns


def _load_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise bad(f"file: not valid JSON ({exc})") from exc


def _read_batches(open_reader: Callable[[], Iterable[pa.RecordBatch]]) -> Table:
    """Convert record batches one at a time; Arrow's copy of a batch is dropped after it."""
    blocks: list[FloatArray] = []
    columns: list[str] = []
    rows = 0
    try:
        for batch in open_reader():
            columns = batch.schema.names
            blocks.append(_batch_to_array(batch, rows))
            rows += batch.num_rows
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise bad(f"file: not a well-formed table ({exc})") from exc
    if not columns or not rows:
        raise bad("file: the table is empty")
    return blocks, check_columns([str(c) for c in columns], len(columns))


def _batch_to_array(batch: pa.RecordBatch, offset: int) -> FloatArray:
    """One C++ call for a batch of numeric columns (wide tables too); nulls become NaN."""
    try:
        x = np.asarray(batch.to_tensor(null_to_nan=True, row_major=True), dtype=np.float64)
    except (pa.ArrowException, TypeError):
        raise _first_non_numeric(batch, offset) from None
    if not np.isfinite(x).all():
        _raise_missing(batch, x, offset)
    return x


def _raise_missing(batch: pa.RecordBatch, x: FloatArray, offset: int) -> None:
    row, col = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
    name = batch.schema.names[col]
    if np.isnan(x[row, col]):
        msg = f"row {offset + row}, column {name!r}: value is missing or NaN"
        raise bad(msg, offset + row, name)
    check_finite(x, field="file", columns=batch.schema.names, row_offset=offset)


def _first_non_numeric(batch: pa.RecordBatch, offset: int) -> BadRows:
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            continue
        for row, value in enumerate(column.to_pylist()):
            try:
                float(value)
            except (TypeError, ValueError):
                msg = f"row {offset + row}, column {name!r}: {shown(value)} is not a number"
                return bad(msg, offset + row, name)
        return bad(f"column {name!r}: {kind} is not a numeric type", name)
    return bad("file: the table is not numeric")


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
