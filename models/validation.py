"""Checks on incoming rows, with errors that name the row and the column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.errors import InvalidInput


def as_rows(x: object, *, columns: Sequence[str] | None = None) -> np.ndarray:
    """Return `x` as a finite 2-D float32 array, or raise InvalidInput naming the bad cell."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"rows must be numbers in a 2-D array: {exc}") from exc
    if arr.ndim != 2:
        raise InvalidInput(f"rows must form a 2-D array, got {arr.ndim} dimension(s)")
    if arr.shape[1] == 0:
        raise InvalidInput("rows must have at least one column")
    check_finite(arr, columns=columns)
    return arr.astype(np.float32)


def check_finite(arr: np.ndarray, *, columns: Sequence[str] | None = None) -> None:
    """Raise InvalidInput for the first NaN or Inf cell, in row-major order."""
    finite = np.isfinite(arr)
    if finite.all():
        return
    row, col = (int(i) for i in np.argwhere(~finite)[0])
    value = arr[row, col]
    kind = "NaN" if np.isnan(value) else "infinite"
    name = columns[col] if columns is not None and col < len(columns) else f"#{col}"
    raise InvalidInput(f"row {row}, column '{name}': value is {kind}", row=row, column=col)


def check_width(arr: np.ndarray, n_features: int) -> None:
    """Raise InvalidInput when rows do not have the fitted number of columns."""
    if arr.shape[1] != n_features:
        raise InvalidInput(f"rows have {arr.shape[1]} columns, the model expects {n_features}")
