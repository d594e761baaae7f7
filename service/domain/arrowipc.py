"""Rows and answers as Arrow IPC streams (`application/vnd.apache.arrow.stream`).

A body is a table with one numeric column per model column, by name (any order; extra or missing
names are refused like JSON records). An answer is a table with one column per array of the JSON
answer, under the JSON field's name: one value per row (`scores`), a fixed-size list per row
(`embeddings`, `reconstructions`) or a list of structs (`explanations`). The JSON answer's
scalars (model, version, rule, alpha, threshold, warnings) travel in the schema's metadata as
JSON, and in the `X-Hourglass-*` headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.types as pat

from service.domain.arrays import FloatArray, check_finite
from service.errors import BadRows, shown

ARROW = "application/vnd.apache.arrow.stream"


def _bad(loc: Sequence[str | int], msg: str) -> BadRows:
    return BadRows(msg, errors=[{"loc": list(loc), "msg": msg}])


def arrow_to_array(body: bytes, *, columns: Sequence[str]) -> FloatArray:
    """An Arrow IPC stream of one numeric column per model column → (n, d) float64 rows in the
    model's column order, or BadRows naming the column (and row) that is wrong."""
    table = _read_table(body)
    _check_names(table.column_names, columns)
    if table.num_rows == 0:
        raise _bad(["body"], "body: the Arrow table has no rows")
    x = np.empty((table.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        x[:, j] = _numeric(table.column(name), name)
    return check_finite(x, field="body", columns=columns)


def _read_table(body: bytes) -> pa.Table:
    try:
        with pa.ipc.open_stream(pa.py_buffer(body)) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise _bad(["body"], f"body: not a readable Arrow IPC stream ({exc})") from exc


def _check_names(names: list[str], columns: Sequence[str]) -> None:
    known = set(columns)
    seen: set[str] = set()
    for name in names:
        if name not in known:
            raise _bad(["body", name], f"body: unknown column {shown(name)}")
        if name in seen:
            raise _bad(["body", name], f"body: column {shown(name)} appears twice")
        seen.add(name)
    missing = [name for name in columns if name not in seen]
    if missing:
        raise _bad(["body", missing[0]], f"body: missing column {shown(missing[0])}")


def _numeric(column: pa.ChunkedArray, name: str) -> np.ndarray[Any, Any]:
    kind = column.type
    if not (pat.is_integer(kind) or pat.is_floating(kind)) or pat.is_float16(kind):
        msg = f"body: column {shown(name)} is {kind}; it must be an integer or float32/64 column"
        raise _bad(["body", name], msg)
    if column.null_count:
        row = _first_null(column)
        raise _bad(["body", row, name], f"row {row}, column {shown(name)}: value is null")
    values: np.ndarray[Any, Any] = column.to_numpy()
    return values


def _first_null(column: pa.ChunkedArray) -> int:
    offset = 0
    for chunk in column.chunks:
        if chunk.null_count:
            return offset + int(np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))[0])
        offset += len(chunk)
    return 0


def answer_to_arrow(columns: Mapping[str, Any], scalars: Mapping[str, Any]) -> bytes:
    """The answer's arrays as an Arrow IPC stream; `scalars` in the schema metadata as JSON."""
    arrays = {name: _column(values) for name, values in columns.items()}
    metadata = {key: orjson.dumps(value) for key, value in scalars.items()}
    table = pa.table(arrays).replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _column(values: Any) -> pa.Array:
    if isinstance(values, np.ndarray) and values.ndim == 2:
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    if isinstance(values, np.ndarray):
        return pa.array(values)
    return pa.array(values)  # lists of dicts: explanations as list<struct>
