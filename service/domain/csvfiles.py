"""CSV uploads: the header row (or none), the delimiter, and the first bad cell when Arrow fails.

Arrow parses the body (fast, in blocks); this module decides what Arrow is told: the delimiter
(given, or sniffed among `,` `;` and tab from the first line), whether the first row names the
columns (given, or `auto`: a first row of numbers is data and the columns become f0…fn), and the
names themselves, stripped and checked (empty, duplicate, too long, not UTF-8: each named).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from service.domain.arrays import FloatArray
from service.errors import BadRows, shown

Delimiter = Literal[",", ";", "\t"]
DELIMITERS: tuple[Delimiter, ...] = get_args(Delimiter)
HeaderMode = Literal["auto", "true", "false"]
MAX_NAME = 200
MIN_BLOCK = 1 << 22  # Arrow's block: at least 4 MiB, and room for 32 rows as long as the header
MAX_BLOCK = 1 << 26
MISSING = ("", "nan", "null", "na", "n/a")
WIDE = 1_000  # columns: from here Arrow's cost per column outweighs its cost per cell


def bad(msg: str, *loc: str | int) -> BadRows:
    """A 422 that points into the uploaded file."""
    return BadRows(msg, errors=[{"loc": ["body", "file", *loc], "msg": msg}])


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out: its delimiter, whether it has a header, its column names."""

    delimiter: str
    has_header: bool
    columns: list[str]


def read_layout(
    file: BinaryIO, *, header: HeaderMode = "auto", delimiter: str | None = None
) -> CsvLayout:
    """Look at the first line only: delimiter, header or not, and the checked column names."""
    first = file.readline()
    file.seek(0)
    text = _decode_header(first)
    sep = delimiter if delimiter is not None else sniff_delimiter(text)
    cells = _split(text, sep)
    numeric = all(_is_number(cell) for cell in cells)
    has_header = header == "true" or (header == "auto" and not numeric)
    columns = check_names(cells) if has_header else [f"f{i}" for i in range(len(cells))]
    return CsvLayout(sep, has_header, columns)


def sniff_delimiter(line: str) -> str:
    """The most frequent of `,` `;` tab in the line; `,` when none occurs."""
    best = max(DELIMITERS, key=line.count)
    return best if line.count(best) else ","


def _decode_header(first: bytes) -> str:
    try:
        return first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise bad(
            f"header: byte {first[exc.start]:#04x} at position {exc.start} is not UTF-8; "
            "save the file as UTF-8",
            "header",
        ) from exc


def _split(line: str, sep: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error as exc:  # a cell over csv's field size limit (131,072 characters)
        raise bad(f"header: {exc}", "header") from exc


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def check_names(cells: list[str]) -> list[str]:
    """The header's names, stripped: each one present, unique and at most 200 characters."""
    names = [cell.strip() for cell in cells]
    for i, name in enumerate(names):
        if not name:
            hint = " (an index column? save without it)" if i == 0 else ""
            raise bad(f"header: column {i} has no name{hint}", "header", i)
        if len(name) > MAX_NAME:
            raise bad(f"header: column {i}'s name is over {MAX_NAME} characters", "header", i)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            msg = f"header: columns {seen[name]} and {i} are both named {name!r}"
            raise bad(msg, "header", i)
        seen[name] = i
    return names


def open_batches(file: BinaryIO, layout: CsvLayout) -> Iterable[pa.RecordBatch]:
    """Arrow's reader for the file: every column float64, so a late `1.5` is fine anywhere."""
    header_bytes = len(file.readline())
    file.seek(0)
    block = min(MAX_BLOCK, max(MIN_BLOCK, 32 * header_bytes))
    read = pa_csv.ReadOptions(
        block_size=block, column_names=layout.columns, skip_rows=int(layout.has_header)
    )
    parse = pa_csv.ParseOptions(delimiter=layout.delimiter)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(layout.columns, pa.float64()), strings_can_be_null=True
    )
    reader: Iterable[pa.RecordBatch] = pa_csv.open_csv(
        file, read_options=read, parse_options=parse, convert_options=convert
    )
    return reader


def read_wide(file: BinaryIO, layout: CsvLayout) -> FloatArray | None:
    """A wide table read as one column: every cell a line, parsed by Arrow, then reshaped.

    Arrow's reader costs a column builder per column and block (a 20 × 100,000 table: ~4 s);
    one float64 column of 2,000,000 cells parses in ~0.3 s. Only plainly laid-out files take
    this way: no quotes, every row as wide as the header, every cell a finite number. Anything
    else answers None, and the general reader, which names what is wrong, reads the file.
    """
    data = file.read()
    file.seek(0)
    lines = [line for line in data.split(b"\n") if line not in (b"", b"\r")]
    sep, width = layout.delimiter.encode(), len(layout.columns)
    rows = lines[1:] if layout.has_header else lines
    if b'"' in data or not rows or any(row.count(sep) != width - 1 for row in rows):
        return None
    cells = b"\n".join(rows).replace(sep, b"\n")
    read = pa_csv.ReadOptions(column_names=["cell"], block_size=MIN_BLOCK)
    parse = pa_csv.ParseOptions(ignore_empty_lines=False)  # an empty cell is a null, not skipped
    convert = pa_csv.ConvertOptions(column_types={"cell": pa.float64()})
    try:
        table = pa_csv.read_csv(
            io.BytesIO(cells), read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid:
        return None
    column = table.column(0)
    if column.null_count or len(column) != len(rows) * width:
        return None
    x: FloatArray = column.to_numpy().reshape(len(rows), width)
    return x if np.isfinite(x).all() else None


def first_bad_cell(file: BinaryIO, layout: CsvLayout) -> BadRows:
    """Arrow does not say which row failed: find the first bad cell with the csv module."""
    file.seek(0)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="replace", newline="")
    try:
        rows = csv.reader(text, delimiter=layout.delimiter)
        if layout.has_header:
            next(rows, None)
        return _scan(rows, layout.columns)
    except csv.Error as exc:
        return bad(f"a cell is not a number: {exc}")
    finally:
        text.detach()  # the upload's file stays open for its owner to close


def _scan(rows: Iterator[list[str]], names: list[str]) -> BadRows:
    for i, row in enumerate(row for row in rows if row):  # Arrow skips empty lines too
        if len(row) != len(names):
            return bad(f"row {i}: has {len(row)} values, the header has {len(names)}", i)
        for name, value in zip(names, row, strict=True):
            if value.strip().lower() in MISSING:
                return bad(f"row {i}, column {name!r}: value is missing or NaN", i, name)
            try:
                number = float(value)
            except ValueError:
                return bad(f"row {i}, column {name!r}: {shown(value)} is not a number", i, name)
            if not math.isfinite(number):
                return bad(f"row {i}, column {name!r}: value is infinite", i, name)
    return bad("file: not a well-formed CSV table")
