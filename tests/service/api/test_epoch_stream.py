"""`GET /v1/runs/{id}/epochs/stream` over real HTTP against live servers: epochs written by
another process (here the test, as a worker would) arrive once each and in order, a dropped
stream resumes from Last-Event-ID with nothing lost or repeated, `end` closes it, and every
replica on one database streams the same epochs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from service.store import runs as store
from service.store.db import SessionFactory, make_engine, make_session_factory, transaction
from service.store.tables import RunStatus
from tests.faults.conftest import TINY, Server, rows, server_env, serving
from tests.service.api.sse import Sse, events
from tests.service.conftest import BACKENDS, empty_database, is_problem


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with empty_database(request.param, tmp_path_factory) as made:
        yield made


@pytest.fixture(scope="module")
def factory(url: str) -> Iterator[SessionFactory]:
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def servers(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two API processes on one database, neither training (the test writes the epochs)."""
    logs = tmp_path_factory.mktemp("stream")
    with (
        serving(server_env(url, embedded_workers="0"), logs) as one,
        serving(server_env(url, embedded_workers="0"), logs) as two,
    ):
        yield [one, two]


def _queued_run(server: Server) -> int:
    dataset = server.upload(rows(40, 3))
    run_id: int = server.post_run(dataset, "streamed", TINY)["id"]
    return run_id


def _write(factory: SessionFactory, run_id: int, epochs: range, pause: float = 0.0) -> None:
    for epoch in epochs:
        with transaction(factory) as session:
            store.add_epoch(
                session, run_id, epoch=epoch, train_loss=1.0 / epoch, val_loss=None, seconds=0.1
            )
        time.sleep(pause)


def _claim(factory: SessionFactory, run_id: int) -> None:
    with transaction(factory) as session:
        assert store.claim_run(session, run_id, worker="test:1")


def _finish(factory: SessionFactory, run_id: int) -> None:
    with transaction(factory) as session:
        store.finish_run(session, run_id, status=RunStatus.SUCCEEDED)


def _read(server: Server, run_id: int, *, after: int | None = None, until: int = 0) -> list[Sse]:
    """Events until `end`, or until the epoch `until` has come (then the stream is dropped)."""
    headers = {} if after is None else {"Last-Event-ID": str(after)}
    found = []
    path = f"/v1/runs/{run_id}/epochs/stream"
    with server.client.stream("GET", path, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for sse in events(response):
            found.append(sse)
            if sse.event == "end" or (until and sse.data.get("epoch") == until):
                break
    return found


def _epochs(found: list[Sse]) -> list[int]:
    return [int(e.data["epoch"]) for e in found if e.event == "epoch"]


def test_epochs_arrive_once_in_order_then_end(
    servers: list[Server], factory: SessionFactory
) -> None:
    run_id = _queued_run(servers[0])
    _claim(factory, run_id)
    writer = threading.Thread(target=_write, args=(factory, run_id, range(1, 13), 0.05))
    results: list[list[Sse]] = []
    reader = threading.Thread(target=lambda: results.append(_read(servers[0], run_id)))
    reader.start()
    writer.start()
    writer.join()
    _finish(factory, run_id)
    reader.join(timeout=30)
    found = results[0]
    assert _epochs(found) == list(range(1, 13))
    assert [e.id for e in found if e.event == "epoch"] == [str(n) for n in range(1, 13)]
    assert found[-1].event == "end" and found[-1].data == {"status": "succeeded"}


def test_a_dropped_stream_resumes_without_gap_or_repeat(
    servers: list[Server], factory: SessionFactory
) -> None:
    run_id = _queued_run(servers[0])
    _claim(factory, run_id)
    writer = threading.Thread(target=_write, args=(factory, run_id, range(1, 31), 0.03))
    writer.start()
    seen: list[int] = []
    last = None
    for _ in range(3):  # drop the stream twice while epochs are being written
        part = _read(servers[0], run_id, after=last, until=(last or 0) + 5)
        seen += _epochs(part)
        last = seen[-1]
    writer.join()
    _finish(factory, run_id)
    seen += _epochs(_read(servers[0], run_id, after=last))
    assert seen == list(range(1, 31))


def test_every_replica_streams_the_same_epochs(
    servers: list[Server], factory: SessionFactory
) -> None:
    run_id = _queued_run(servers[0])
    _claim(factory, run_id)
    results: dict[int, list[Sse]] = {}
    readers = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, _read(servers[i], run_id)))
        for i in range(2)
    ]
    for reader in readers:
        reader.start()
    _write(factory, run_id, range(1, 8), 0.02)
    _finish(factory, run_id)
    for reader in readers:
        reader.join(timeout=30)
    assert _epochs(results[0]) == _epochs(results[1]) == list(range(1, 8))


def test_a_finished_run_streams_its_epochs_and_ends_at_once(
    servers: list[Server], factory: SessionFactory
) -> None:
    run_id = _queued_run(servers[1])
    _claim(factory, run_id)
    _write(factory, run_id, range(1, 6))
    _finish(factory, run_id)
    started = time.monotonic()
    found = _read(servers[1], run_id, after=2)
    assert _epochs(found) == [3, 4, 5] and found[-1].event == "end"
    assert time.monotonic() - started < 5


def test_unknown_run_and_bad_last_event_id_are_problems(servers: list[Server]) -> None:
    client = servers[0].client
    is_problem(client.get("/v1/runs/999999/epochs/stream"), 404)
    run_id = _queued_run(servers[0])
    bad = client.get(f"/v1/runs/{run_id}/epochs/stream", headers={"Last-Event-ID": "x"})
    assert is_problem(bad, 422)["errors"][0]["loc"] == ["header", "last-event-id"]


def test_docs_name_the_stream(servers: list[Server]) -> None:
    document = httpx.get(f"{servers[0].client.base_url}/openapi.json").json()
    operation = document["paths"]["/v1/runs/{run_id}/epochs/stream"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
