"""Chunked, content-addressed blobs: write in pieces, dedupe by sha256, read back in pieces."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.store.tables import Blob, BlobChunk, Dataset, ModelVersion, Run

CHUNK_BYTES = 1 << 20


def write_blob(session: Session, pieces: Iterable[bytes | memoryview]) -> Blob:
    """Store `pieces` as one blob; if the same bytes exist already, return that blob instead."""
    blob = Blob(size_bytes=0, n_chunks=0)
    session.add(blob)
    session.flush()
    digest = hashlib.sha256()
    for index, chunk in enumerate(_rechunk(pieces)):
        digest.update(chunk)
        session.add(BlobChunk(blob_id=blob.id, index=index, data=chunk))
        blob.size_bytes += len(chunk)
        blob.n_chunks = index + 1
        session.flush()
    sha = digest.hexdigest()
    existing = session.scalar(select(Blob).where(Blob.sha256 == sha))
    if existing is not None:
        session.execute(delete(BlobChunk).where(BlobChunk.blob_id == blob.id))
        session.delete(blob)
        session.flush()
        return existing
    blob.sha256 = sha
    session.flush()
    return blob


def _rechunk(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        view = memoryview(piece).cast("B")
        while len(view):
            take = min(CHUNK_BYTES - len(buffer), len(view))
            buffer += view[:take]
            view = view[take:]
            if len(buffer) == CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def iter_blob(session: Session, blob_id: int) -> Iterator[bytes]:
    """The blob's bytes, one chunk at a time."""
    n_chunks = session.scalar(select(Blob.n_chunks).where(Blob.id == blob_id)) or 0
    for index in range(n_chunks):
        yield session.scalars(
            select(BlobChunk.data).where(BlobChunk.blob_id == blob_id, BlobChunk.index == index)
        ).one()


def read_blob(session: Session, blob_id: int) -> bytes:
    """The whole blob in one bytes object (checkpoints; datasets are read into arrays)."""
    return b"".join(iter_blob(session, blob_id))


def delete_blob_if_unused(session: Session, blob_id: int | None) -> None:
    """Drop a blob that no dataset or version references any more (blobs are shared by content)."""
    if blob_id is None:
        return
    references = [
        Dataset.blob_id == blob_id,
        ModelVersion.checkpoint_blob_id == blob_id,
        ModelVersion.calibration_blob_id == blob_id,
        Run.checkpoint_blob_id == blob_id,
        ModelVersion.sample_blob_id == blob_id,
    ]
    users = sum(
        session.scalar(select(func.count()).where(condition)) or 0 for condition in references
    )
    if users == 0:
        session.execute(delete(BlobChunk).where(BlobChunk.blob_id == blob_id))
        session.execute(delete(Blob).where(Blob.id == blob_id))
