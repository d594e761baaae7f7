"""Rows from JSON and `.npy` bytes: a float table, or a 422 that names the first bad cell."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from service.domain.arrays import (
    array_from_npy_chunks,
    array_to_npy,
    check_width,
    npy_pieces,
    npy_to_array,
    records_to_array,
    rows_to_array,
)
from service.errors import BadRows


def _refused(call: Any, *args: Any, **kwargs: Any) -> tuple[str, list[str | int]]:
    with pytest.raises(BadRows) as caught:
        call(*args, **kwargs)
    return caught.value.detail, caught.value.errors[0]["loc"]


@pytest.mark.parametrize(
    ("rows", "message", "loc"),
    [
        ([], "instances: must be a non-empty list of rows", ["body", "instances"]),
        ([[1, 2], [3]], "row 1: has 1 values, expected 2", ["body", "instances", 1]),
        ([[1, 2], []], "row 1: must be a non-empty list", ["body", "instances", 1]),
        (
            [[1, 2], [3, "x"]],
            "row 1, column 'b': 'x' is not a number",
            ["body", "instances", 1, "b"],
        ),
        ([[1, True]], "row 0, column 'b': True is not a number", ["body", "instances", 0, "b"]),
        ([[1, None]], "row 0, column 'b': None is not a number", ["body", "instances", 0, "b"]),
    ],
)
def test_bad_rows_name_the_first_bad_cell(rows: object, message: str, loc: list[str | int]) -> None:
    detail, where = _refused(rows_to_array, rows, field="instances", columns=["a", "b"])
    assert message in detail
    assert where == loc


def test_a_json_boolean_is_never_the_number_one_unless_the_body_had_none() -> None:
    _refused(rows_to_array, [[1, True]], field="instances")
    x = rows_to_array([[1, 2.5]], field="instances", may_hold_booleans=False)
    assert x.dtype == np.float64 and x.tolist() == [[1.0, 2.5]]


def test_records_are_put_in_the_model_s_column_order() -> None:
    records = [{"b": 2, "a": 1}, {"a": 3, "b": 4}]
    assert records_to_array(records, columns=["a", "b"]).tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("records", "message", "loc"),
    [
        ({"a": 1}, "records: must be a non-empty list", ["body", "records"]),
        ([{"a": 1, "b": 2}, [1, 2]], "record 1: must be an object", ["body", "records", 1]),
        ([{"a": 1, "b": 2, "c": 3}], "unknown column 'c'", ["body", "records", 0, "c"]),
        ([{"a": 1}], "missing column 'b'", ["body", "records", 0, "b"]),
        ([{"a": 1, "b": "two"}], "'two' is not a number", ["body", "records", 0, "b"]),
    ],
)
def test_bad_records_name_the_record_and_column(
    records: object, message: str, loc: list[str | int]
) -> None:
    detail, where = _refused(records_to_array, records, columns=["a", "b"])
    assert message in detail
    assert where == loc


def test_a_table_of_another_width_is_refused() -> None:
    detail, _ = _refused(check_width, np.zeros((2, 3)), width=4, field="instances")
    assert "has 3 values; the model expects 4" in detail


def test_npy_bytes_round_trip() -> None:
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    got = npy_to_array(array_to_npy(x))
    assert got.dtype == np.float64 and got.tolist() == x.tolist()


def _npy(x: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, x, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_npy(np.array([[1, "a"]], dtype=object)), "object arrays are refused"),
        (_npy(np.zeros(3)), "must be a 2-D numeric .npy array"),
        (_npy(np.array([["a", "b"]])), "must be a 2-D numeric .npy array"),
        (_npy(np.zeros((0, 3))), "must not be empty"),
        (_npy(np.zeros((2, 2)))[:-8], "claims 32 bytes of data; 24 follow it"),
        (b"not an npy file", "not a readable .npy array"),
        (_npy(np.array([[1.0, np.inf]])), "row 0, column 1: value is infinite"),
    ],
)
def test_npy_bytes_that_are_not_a_finite_table_are_refused(data: bytes, message: str) -> None:
    detail, _ = _refused(npy_to_array, data, field="file")
    assert message in detail


def test_a_header_claiming_more_than_follows_allocates_nothing() -> None:
    header = io.BytesIO()
    fields = {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)}
    np.lib.format.write_array_header_1_0(header, fields)
    detail, _ = _refused(npy_to_array, header.getvalue() + b"\0" * 16)
    assert "claims 800,000,000,000,000 bytes" in detail


@pytest.mark.parametrize("chunk", [1, 7, 100, 1 << 20])
def test_stored_blocks_come_back_whatever_the_chunk_size(chunk: int) -> None:
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(5, 3)), rng.normal(size=(2, 3))]
    data = b"".join(bytes(piece) for piece in npy_pieces(blocks))
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    np.testing.assert_array_equal(array_from_npy_chunks(pieces), np.vstack(blocks))
