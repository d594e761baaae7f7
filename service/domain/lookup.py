"""What inference needs, kept in process: `{ref}` → version, version → loaded Detector.

A request for a model already seen is answered without opening a database session. The `{ref}`
cache is dropped when the registry's generation counter moves: at the commit of a change made by
this process, and within `POLL_SECONDS` of one made by any other replica (`GenerationWatch`
polls one tiny row). Loaded Detectors are keyed by their blobs, which never change, so they only
leave the cache by LRU.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from models import CheckpointError, Detector
from models.serialization import calibration_from_bytes
from service.domain.registry import load_calibration, load_checkpoint, resolve_ref
from service.errors import ServiceError
from service.periodic import Periodic
from service.store import generations
from service.store.db import SessionFactory, transaction
from service.store.tables import ModelVersion

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # a change on another replica reaches this one within this (target: ≤ 1 s)


@dataclass(frozen=True)
class Target:
    """The Detector that answers and the name and version it is registered under."""

    model: str
    version: int
    detector: Detector
    columns: list[str]


@dataclass(frozen=True)
class Resolved:
    """What a `{ref}` named, as far as answering it needs: no session, no table rows."""

    model: str
    version: int
    blobs: tuple[int, int | None]  # checkpoint, own calibration
    columns: list[str]


class DetectorCache:
    """Loaded Detectors by their blobs, least recently used evicted first (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: LRUCache[tuple[int, int | None], Detector] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def peek(self, blobs: tuple[int, int | None]) -> Detector | None:
        """The loaded Detector, if it is in memory."""
        with self._lock:
            found = self._items.get(blobs)
            if found is not None:
                self.hits += 1
            return found

    def get(self, session: Session, version: ModelVersion) -> Detector:
        """The version's Detector, loaded once (a load happens outside the lock)."""
        key = (version.checkpoint_blob_id, version.calibration_blob_id)
        found = self.peek(key)
        if found is not None:
            return found
        detector = _load(session, version)
        with self._lock:
            self.misses += 1
            self._items[key] = detector
        return detector


def _load(session: Session, version: ModelVersion) -> Detector:
    """The checkpoint's Detector, with the version's own calibration when it has one."""
    try:
        detector = Detector.from_bytes(load_checkpoint(session, version), device="cpu")
        calibration = load_calibration(session, version)
        if calibration is None:
            return detector
        return detector.with_calibration(calibration_from_bytes(calibration))
    except CheckpointError as exc:
        raise ServiceError(
            f"the checkpoint of version {version.version} is unusable: {exc}"
        ) from exc


class Lookup:
    """`{ref}` → Target: from memory when the ref was seen since the registry last changed."""

    def __init__(self, factory: SessionFactory, detectors: DetectorCache, size: int = 1024) -> None:
        self.detectors = detectors
        self._factory = factory
        self._refs: LRUCache[str, Resolved] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self._epoch = 0  # moves at every clear: a lookup that raced a clear is not kept

    def cached(self, ref: str) -> Target | None:
        """The Target, if both the ref and its Detector are in memory (no database)."""
        with self._lock:
            found = self._refs.get(ref)
        if found is None:
            return None
        detector = self.detectors.peek(found.blobs)
        if detector is None:
            return None
        return Target(found.model, found.version, detector, found.columns)

    def load(self, ref: str) -> Target:
        """Resolve `ref` in the database and load its Detector (blocking: call off the loop)."""
        with self._lock:
            epoch = self._epoch
        with transaction(self._factory) as session:
            target, resolved = self.resolve(session, ref)
        with self._lock:
            if self._epoch == epoch:
                self._refs[ref] = resolved
        return target

    def resolve(self, session: Session, ref: str) -> tuple[Target, Resolved]:
        """Resolve `ref` in the caller's session (uncached)."""
        model, version = resolve_ref(session, ref)
        detector = self.detectors.get(session, version)
        blobs = (version.checkpoint_blob_id, version.calibration_blob_id)
        found = Resolved(model.name, version.version, blobs, list(version.columns))
        return Target(found.model, found.version, detector, found.columns), found

    def clear(self) -> None:
        """Forget every resolved ref (the registry changed)."""
        with self._lock:
            self._refs.clear()
            self._epoch += 1


class GenerationWatch:
    """Calls each counter's clear function when it moves: at the commit of a change this process
    made (the session says so), and when a poll sees another process's change."""

    def __init__(self, engine: Engine, clears: dict[str, Callable[[], None]]) -> None:
        self._engine = engine
        self._clears = clears
        self._seen: dict[str, int] = {}
        self._poller = Periodic(self._poll, seconds=POLL_SECONDS, name="hourglass-generations")

    def attach(self, factory: SessionFactory) -> None:
        """Clear at the commit of every session of `factory` that changed a counter."""
        event.listen(factory, "after_commit", self._committed)

    def _committed(self, session: Session) -> None:
        for name in session.info.pop(generations.CHANGED, set()):
            self._clears[name]()

    def start(self) -> None:
        """Poll the counters every POLL_SECONDS (other processes' changes)."""
        self._poller.start()

    def stop(self) -> None:
        """Stop polling."""
        self._poller.stop()

    def _poll(self) -> None:
        try:
            self.check()
        except Exception as exc:  # the database is away: keep what is cached, retry
            logger.debug("generation poll failed: %s", exc, extra={"action": "poll"})

    def check(self) -> None:
        """Read the counters once; clear what moved since the last read."""
        with self._engine.connect() as connection:
            now = generations.read_all(connection)
        for name, value in now.items():
            if name in self._seen and self._seen[name] != value and name in self._clears:
                self._clears[name]()
        self._seen = now
