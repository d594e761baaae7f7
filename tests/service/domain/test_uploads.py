"""Uploads are read in blocks: types and row numbers stay right across block boundaries."""

from __future__ import annotations

import io

import numpy as np
import pytest

from service.domain import csvfiles, uploads
from service.domain.arrays import array_from_npy_chunks, npy_pieces
from service.errors import BadRows


def _csv(lines: list[str]) -> io.BytesIO:
    return io.BytesIO("\n".join(lines).encode())


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(csvfiles, "MIN_BLOCK", 1000)
    return ["a,b"] + [f"{i},{2 * i}" for i in range(3000)]


def test_late_float_in_an_integer_looking_column(small_blocks: list[str]) -> None:
    small_blocks[2501] = "1,2.5"
    blocks, columns = uploads.read_upload(_csv(small_blocks), "x.csv")
    assert len(blocks) > 1 and columns == ["a", "b"]
    x = np.vstack(blocks)
    assert x.shape == (3000, 2) and x[2500, 1] == 2.5


@pytest.mark.parametrize(
    ("cell", "message"),
    [("1,oops", "'oops' is not a number"), ("1,", "missing"), ("1,2,3", "has 3 values")],
)
def test_bad_cell_after_the_first_block_names_its_row(
    small_blocks: list[str], cell: str, message: str
) -> None:
    small_blocks[2501] = cell
    with pytest.raises(BadRows) as caught:
        uploads.read_upload(_csv(small_blocks), "x.csv")
    assert "row 2500" in caught.value.detail and message in caught.value.detail


def test_blocks_round_trip_through_npy_chunks() -> None:
    blocks = [np.arange(6.0).reshape(3, 2), np.arange(6.0, 10.0).reshape(2, 2)]
    data = b"".join(bytes(piece) for piece in npy_pieces(blocks))
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert np.array_equal(array_from_npy_chunks(chunks), np.vstack(blocks))
    assert np.array_equal(np.load(io.BytesIO(data), allow_pickle=False), np.vstack(blocks))
