"""Blobs: stored in chunks, shared by content, dropped when nothing uses them any more."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store import blobs
from service.store.datasets import add_dataset
from service.store.tables import Blob, BlobChunk


def test_bytes_come_back_as_written_in_chunks_of_the_chunk_size(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "CHUNK_BYTES", 4)
    blob = blobs.write_blob(session, [b"abc", memoryview(b"defgh"), b"", b"ij"])
    assert (blob.size_bytes, blob.n_chunks) == (10, 3)
    assert list(blobs.iter_blob(session, blob.id)) == [b"abcd", b"efgh", b"ij"]
    assert blobs.read_blob(session, blob.id) == b"abcdefghij"


def test_the_same_bytes_are_stored_once(session: Session) -> None:
    first = blobs.write_blob(session, [b"same ", b"bytes"])
    again = blobs.write_blob(session, [b"same bytes"])
    other = blobs.write_blob(session, [b"other bytes"])
    assert again.id == first.id and other.id != first.id
    ids = set(session.scalars(select(BlobChunk.blob_id)).all())
    assert ids == {first.id, other.id}  # the duplicate's chunks went with it


def test_a_blob_is_dropped_only_when_nothing_uses_it(session: Session) -> None:
    used = blobs.write_blob(session, [b"rows of a dataset"])
    add_dataset(session, name="d", columns=["a"], n_rows=2, blob=used)
    unused = blobs.write_blob(session, [b"nobody's"])
    blobs.delete_blob_if_unused(session, used.id)
    blobs.delete_blob_if_unused(session, unused.id)
    blobs.delete_blob_if_unused(session, None)
    assert set(session.scalars(select(Blob.id)).all()) == {used.id}
    assert blobs.read_blob(session, used.id) == b"rows of a dataset"
