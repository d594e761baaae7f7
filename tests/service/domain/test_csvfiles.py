"""CSV layouts: header or not, the delimiter, and names checked before Arrow reads a cell."""

from __future__ import annotations

import io

import pytest

from service.domain import uploads
from service.domain.csvfiles import read_layout, sniff_delimiter
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
