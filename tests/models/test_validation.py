"""Rows the engine cannot use are refused with a message that says what is wrong, and where."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidInput
from models.validation import as_rows, check_width


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1.0, 2.0], [3.0]], "rows must be numbers in a 2-D array"),
        ([["a", "b"]], "rows must be numbers in a 2-D array"),
        ([1.0, 2.0], "got 1 dimension"),
        (np.zeros((2, 2, 2)), "got 3 dimension"),
        (np.zeros((3, 0)), "at least one column"),
    ],
)
def test_rows_that_are_not_a_table_of_numbers_are_refused(rows: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        as_rows(rows)


@pytest.mark.parametrize(
    ("value", "kind"), [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")]
)
def test_the_first_non_finite_cell_is_named_by_row_and_column(value: float, kind: str) -> None:
    x = np.ones((4, 3))
    x[2, 1] = value
    x[3, 0] = np.nan  # later in row-major order: not the one named
    with pytest.raises(InvalidInput, match=f"row 2, column 'b': value is {kind}") as caught:
        as_rows(x, columns=["a", "b", "c"])
    assert (caught.value.row, caught.value.column) == (2, 1)
    with pytest.raises(InvalidInput, match="column '#1'"):
        as_rows(x)


def test_good_rows_come_back_as_float32() -> None:
    rows = as_rows([[1, 2], [3, 4]])
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(rows, [[1, 2], [3, 4]])


def test_a_width_other_than_the_fitted_one_is_refused() -> None:
    check_width(np.zeros((1, 3)), 3)
    with pytest.raises(InvalidInput, match="rows have 2 columns, the model expects 3"):
        check_width(np.zeros((1, 2)), 3)
