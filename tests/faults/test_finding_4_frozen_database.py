"""Finding 4: a frozen database (SIGSTOP) hung /readyz, /v1/* and /metrics past 35 s.

Now every database-backed route answers 503 within 5 s while PostgreSQL is frozen, and the
service recovers within 2 s of it thawing; a stopped and restarted PostgreSQL gives 503 while
down and the same recovery.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Cluster, Server, rows, server_env, serving

pytestmark = pytest.mark.postgres
ROUTES = [
    ("GET", "/readyz"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/datasets"),
    ("GET", "/v1/models"),
    ("POST", "/v1/runs"),
    ("POST", "/v1/models/m/embed"),
]


@pytest.fixture(scope="module")
def server(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = cluster.create_database("frozen")
    env = server_env(url, embedded_workers="0")
    with serving(env, tmp_path_factory.mktemp("frozen")) as live:
        live.upload(rows(50, 3))
        yield live


def _timed(server: Server, method: str, path: str) -> tuple[int, float]:
    body = {"dataset_id": 1, "model_name": "m"} if path == "/v1/runs" else None
    if path.endswith("/embed"):
        body = {"instances": [[1.0, 2.0, 3.0]]}
    started = time.monotonic()
    response = server.client.request(method, path, json=body, timeout=30)
    return response.status_code, time.monotonic() - started


def _recovery(server: Server) -> float:
    """Seconds until /readyz and a read route answer 200 again."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        ready = server.client.get("/readyz", timeout=30).status_code == 200
        if ready and server.client.get("/v1/runs", timeout=30).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("the service did not recover within 30 s")


def test_finding_4_frozen_database_answers_503_within_5_s(
    server: Server, cluster: Cluster, record_property: object
) -> None:
    assert server.client.get("/readyz").status_code == 200
    cluster.freeze()
    try:
        answers = {route: _timed(server, *route) for route in ROUTES}
        metrics = _timed(server, "GET", "/metrics")
    finally:
        cluster.thaw()
    recovered = _recovery(server)
    record_property("frozen_slowest_answer_seconds", round(max(t for _, t in answers.values()), 2))  # type: ignore[operator]
    record_property("thaw_recovery_seconds", round(recovered, 2))  # type: ignore[operator]
    for route, (status, seconds) in answers.items():
        assert status == 503 and seconds < 5, (route, status, seconds)
    assert metrics[0] == 200 and metrics[1] < 5  # without the database's figures, but answered
    assert recovered < 2


def test_finding_4_restarted_database_is_503_while_down_then_recovers(
    server: Server, cluster: Cluster, record_property: object
) -> None:
    cluster.stop()
    try:
        down = {route: _timed(server, *route) for route in ROUTES}
    finally:
        cluster.start()
    recovered = _recovery(server)
    record_property("restart_recovery_seconds", round(recovered, 2))  # type: ignore[operator]
    for route, (status, seconds) in down.items():
        assert status == 503 and seconds < 5, (route, status, seconds)
    assert recovered < 2
