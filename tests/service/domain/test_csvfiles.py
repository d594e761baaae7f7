"""CSV layouts: header or not, the delimiter, and names checked before Arrow reads a cell."""

from __future__ import annotations

import io

import numpy as np
import pytest

from service.domain import uploads
from service.domain.csvfiles import read_layout, read_wide, sniff_delimiter
from service.domain.uploads import UploadOptions
from service.errors import BadRows


def _read(text: bytes, **options: str) -> tuple[list[str], tuple[int, int]]:
    blocks, columns = uploads.read_upload(io.BytesIO(text), "x.csv", UploadOptions(**options))  # type: ignore[arg-type]
    return columns, (sum(len(b) for b in blocks), blocks[0].shape[1])


def test_a_first_row_of_numbers_is_data_under_auto() -> None:
    assert _read(b"1,2,3\n4,5,6\n7,8,9\n") == (["f0", "f1", "f2"], (3, 3))
    assert _read(b"1,2,3\n4,5,6\n7,8,9\n", header="true") == (["1", "2", "3"], (2, 3))


def test_header_false_reads_a_named_first_row_as_data_and_fails_on_it() -> None:
    with pytest.raises(BadRows, match="row 0, column 'f0'"):
        _read(b"a,b\n1,2\n3,4\n", header="false")


@pytest.mark.parametrize(
    ("line", "sep"), [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a", ",")]
)
def test_the_delimiter_is_sniffed_from_the_first_line(line: str, sep: str) -> None:
    assert sniff_delimiter(line) == sep


def test_semicolon_files_like_skab_read_as_they_are() -> None:
    columns, shape = _read(b"x; y\n1.5;2\n3;4.25\n")
    assert columns == ["x", "y"] and shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"a,a\n1,2\n3,4\n", "columns 0 and 1 are both named 'a'"),
        (b",a,b\n0,1,2\n1,3,4\n", "column 0 has no name (an index column?"),
        (b"a,,b\n1,2,3\n4,5,6\n", "column 1 has no name"),
        ("caf\xe9,b\n1,2\n3,4\n".encode("latin-1"), "byte 0xe9 at position 3 is not UTF-8"),
    ],
)
def test_bad_header_cells_are_named(text: bytes, said: str) -> None:
    with pytest.raises(BadRows) as caught:
        read_layout(io.BytesIO(text))
    assert said in caught.value.detail


def test_names_are_stripped() -> None:
    assert _read(b"a, b\n1,2\n3,4\n")[0] == ["a", "b"]


WIDE_NAMES = [f"c{i}" for i in range(1_200)]  # over csvfiles.WIDE: the one-column reader's case


def _wide(sep: str = ",", newline: str = "\n", header: bool = True) -> tuple[bytes, np.ndarray]:
    x = np.round(np.random.default_rng(3).normal(size=(4, len(WIDE_NAMES))), 6)
    lines = [sep.join(WIDE_NAMES)] if header else []
    lines += [sep.join(f"{v:.6f}" for v in row) for row in x]
    return newline.join(lines).encode() + newline.encode(), x


@pytest.mark.parametrize(
    ("sep", "newline", "header"),
    [(",", "\n", True), (";", "\r\n", True), ("\t", "\n", True), (",", "\n", False)],
)
def test_a_wide_table_reads_as_the_general_reader_would(
    sep: str, newline: str, header: bool
) -> None:
    body, x = _wide(sep, newline, header)
    layout = read_layout(io.BytesIO(body))
    assert read_wide(io.BytesIO(body), layout) is not None  # the fast way was taken
    columns, shape = _read(body)
    blocks, _ = uploads.read_upload(io.BytesIO(body), "x.csv")
    assert shape == x.shape and columns == (
        WIDE_NAMES if header else [f"f{i}" for i in range(1200)]
    )
    np.testing.assert_array_equal(np.concatenate(blocks), x)


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        ("", "row 1, column 'c7': value is missing or NaN"),
        ("nan", "row 1, column 'c7': value is missing or NaN"),
        ("inf", "row 1, column 'c7': value is infinite"),
        ("x", "row 1, column 'c7': 'x' is not a number"),
        ("1,2", "row 1: has 1201 values, the header has 1200"),
        ('"1.5"', None),
    ],
)
def test_a_wide_table_with_a_bad_cell_is_named_by_the_general_reader(
    cell: str, said: str | None
) -> None:
    lines = _wide()[0].decode().split("\n")
    cells = lines[2].split(",")
    cells[7] = cell
    body = "\n".join([*lines[:2], ",".join(cells), *lines[3:]]).encode()
    assert read_wide(io.BytesIO(body), read_layout(io.BytesIO(body))) is None
    if said is None:  # quoted: the general reader reads it
        assert _read(body)[1] == (4, 1200)
        return
    with pytest.raises(BadRows) as caught:
        _read(body)
    assert caught.value.detail == said
