"""The epoch feed, tick by tick on a real database: each watcher gets every epoch after its
cursor once, in order, then `end`; a retried run says `restart`; one query serves every watcher."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from service.domain.feeds import End, EpochEvent, EpochFeed, Event, Restart, Watcher
from service.store import runs as store
from service.store.blobs import write_blob
from service.store.db import SessionFactory, make_engine, make_session_factory, transaction
from service.store.tables import Dataset, RunStatus
from tests.service.conftest import BACKENDS, empty_database, migrate


@pytest.fixture(scope="module", params=BACKENDS)
def factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SessionFactory]:
    with empty_database(request.param, tmp_path_factory) as url:
        engine = make_engine(migrate(url))
        yield make_session_factory(engine)
        engine.dispose()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop of its own thread, as a server's is (and as this test process may already
    run one: pytest-playwright's sync API keeps one running in the main thread)."""
    made = asyncio.new_event_loop()
    thread = threading.Thread(target=made.run_forever, daemon=True)
    thread.start()
    yield made
    made.call_soon_threadsafe(made.stop)
    thread.join(timeout=5)
    made.close()


def _new_run(factory: SessionFactory) -> int:
    with transaction(factory) as session:
        dataset = Dataset(name="d", n_rows=2, n_features=1, columns=["a"], sha256="0" * 64)
        dataset.size_bytes, dataset.blob_id = 0, write_blob(session, [b"x"]).id
        session.add(dataset)
        session.flush()
        run = store.add_run(session, dataset_id=dataset.id, model_name="m", config={}, epochs=9)
        return run.id


def _claim(factory: SessionFactory, run_id: int) -> None:
    with transaction(factory) as session:
        assert store.claim_run(session, run_id, worker="test:1")


def _epochs(factory: SessionFactory, run_id: int, numbers: range) -> None:
    for epoch in numbers:
        with transaction(factory) as session:
            store.add_epoch(
                session, run_id, epoch=epoch, train_loss=1.0 / epoch, val_loss=None, seconds=0.1
            )


def _drain(loop: asyncio.AbstractEventLoop, watcher: Watcher) -> list[Event]:
    """What the watcher's queue holds, taken on its loop after the hand-overs scheduled so far."""

    async def take() -> list[Event]:
        found = []
        while not watcher.queue.empty():
            found.append(watcher.queue.get_nowait())
        return found

    return asyncio.run_coroutine_threadsafe(take(), loop).result(timeout=5)


def _numbers(events: list[Event]) -> list[int]:
    return [e.epoch for e in events if isinstance(e, EpochEvent)]


def test_watchers_get_each_epoch_once_then_end(
    factory: SessionFactory, loop: asyncio.AbstractEventLoop
) -> None:
    feed = EpochFeed(factory)
    run_id = _new_run(factory)
    _claim(factory, run_id)
    _epochs(factory, run_id, range(1, 4))
    fresh = feed.watch(run_id, after=0, loop=loop)
    resumed = feed.watch(run_id, after=2, loop=loop)
    feed.tick()
    assert _numbers(_drain(loop, fresh)) == [1, 2, 3]
    assert _numbers(_drain(loop, resumed)) == [3]
    feed.tick()  # nothing new: nothing handed out twice
    assert _drain(loop, fresh) == [] and _drain(loop, resumed) == []
    _epochs(factory, run_id, range(4, 6))
    with transaction(factory) as session:
        store.finish_run(session, run_id, status=RunStatus.SUCCEEDED)
    feed.tick()
    last = _drain(loop, fresh)
    assert _numbers(last) == [4, 5] and last[-1] == End("succeeded")
    assert _drain(loop, resumed)[-1] == End("succeeded")
    assert feed.watching == 0  # an ended watcher is no longer polled for


def test_one_query_serves_every_watcher(
    factory: SessionFactory, loop: asyncio.AbstractEventLoop
) -> None:
    feed = EpochFeed(factory)
    runs = [_new_run(factory) for _ in range(3)]
    for run_id in runs:
        _claim(factory, run_id)
        _epochs(factory, run_id, range(1, 3))
    watchers = [feed.watch(r, after=0, loop=loop) for r in runs for _ in range(4)]
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    engine = factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        feed.tick()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, reads  # the states, then the epochs: for 12 watchers of 3 runs
    assert all(_numbers(_drain(loop, w)) == [1, 2] for w in watchers)


def test_a_retried_run_restarts_its_watchers(
    factory: SessionFactory, loop: asyncio.AbstractEventLoop
) -> None:
    feed = EpochFeed(factory)
    run_id = _new_run(factory)
    watcher = feed.watch(run_id, after=0, loop=loop)
    feed.tick()
    assert _drain(loop, watcher) == []  # queued: nothing yet, and no restart for the first claim
    _claim(factory, run_id)
    _epochs(factory, run_id, range(1, 4))
    feed.tick()
    assert _numbers(_drain(loop, watcher)) == [1, 2, 3]
    with transaction(factory) as session:
        store.requeue_run(session, run_id, error="worker lost")
    _claim(factory, run_id)  # the second attempt: its epochs start again from 1
    _epochs(factory, run_id, range(1, 3))
    feed.tick()
    assert _drain(loop, watcher) == [Restart(2)]
    feed.tick()
    assert _numbers(_drain(loop, watcher)) == [1, 2]


def test_a_deleted_run_ends_its_watchers(
    factory: SessionFactory, loop: asyncio.AbstractEventLoop
) -> None:
    feed = EpochFeed(factory)
    run_id = _new_run(factory)
    watcher = feed.watch(run_id, after=0, loop=loop)
    with transaction(factory) as session:
        run = store.get_run(session, run_id)
        assert run is not None
        store.delete_run(session, run)
    feed.tick()
    assert _drain(loop, watcher) == [End("deleted")]


def test_watchers_are_bounded(factory: SessionFactory, loop: asyncio.AbstractEventLoop) -> None:
    from service.errors import Unavailable

    feed = EpochFeed(factory, max_watchers=2)
    feed.watch(1, after=0, loop=loop)
    second = feed.watch(1, after=0, loop=loop)
    with pytest.raises(Unavailable):
        feed.watch(1, after=0, loop=loop)
    feed.forget(second)
    feed.watch(1, after=0, loop=loop)
