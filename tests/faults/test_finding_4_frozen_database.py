"""Finding 4: a frozen database (SIGSTOP) hung /readyz, /v1/* and /metrics past 35 s.

Now every database-backed route answers 503 within 5 s while PostgreSQL is frozen, all of them
at once, and the service recovers within 2 s of it thawing; a stopped and restarted PostgreSQL
gives 503 while down and the same recovery. /metrics answers without the database's figures.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.faults.conftest import Cluster, Server, rows

pytestmark = pytest.mark.postgres
ROWS = {"instances": [[1.0, 2.0, 3.0]]}
SWEEP = {"model_name": "frozen", "space": {"architecture.code_size": {"int": [1, 2]}}}
ATTRIBUTE = {"instances": [[1.0, 2.0, 3.0]], "target": "score"}
TRAVERSE = {"unit": 0, "values": [0.0, 1.0]}
EXAMPLES = "/v1/models/nothing/layers/0/units/0/examples"
V2 = {"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1.0, 2.0, 3.0]}]}


NO_DATABASE = {("GET", "/healthz"), ("GET", "/v2"), ("GET", "/v2/health/live"), ("GET", "/metrics")}


def _routes(dataset: int) -> list[tuple[str, str, str, Any]]:
    """Every route that reads or writes the database (models named here do not exist, so no
    answer can come from a cache): method, OpenAPI path, path requested, JSON body."""
    ref, name = "/v1/models/{ref}", "/v1/models/{name}"
    v2 = "/v2/models/{name}"
    return [
        ("GET", "/readyz", "/readyz", None),
        ("GET", "/v2/health/ready", "/v2/health/ready", None),
        ("GET", "/v1/datasets", "/v1/datasets", None),
        ("GET", "/v1/datasets/{dataset_id}", f"/v1/datasets/{dataset}", None),
        ("POST", "/v1/datasets", "/v1/datasets", {"rows": [[1.0, 2.0], [3.0, 4.0]]}),
        ("DELETE", "/v1/datasets/{dataset_id}", "/v1/datasets/999999", None),
        ("GET", "/v1/runs", "/v1/runs", None),
        ("POST", "/v1/runs", "/v1/runs", {"dataset_id": dataset, "model_name": "frozen"}),
        ("GET", "/v1/runs/{run_id}", "/v1/runs/1", None),
        ("GET", "/v1/runs/{run_id}/epochs", "/v1/runs/1/epochs", None),
        ("GET", "/v1/runs/{run_id}/epochs/stream", "/v1/runs/1/epochs/stream", None),
        ("GET", "/v1/sweeps", "/v1/sweeps", None),
        ("POST", "/v1/sweeps", "/v1/sweeps", SWEEP | {"dataset_id": dataset}),
        ("GET", "/v1/sweeps/{sweep_id}", "/v1/sweeps/1", None),
        ("POST", "/v1/sweeps/{sweep_id}/cancel", "/v1/sweeps/999999/cancel", None),
        ("POST", "/v1/runs/{run_id}/cancel", "/v1/runs/999999/cancel", None),
        ("DELETE", "/v1/runs/{run_id}", "/v1/runs/999999", None),
        ("GET", "/v1/models", "/v1/models", None),
        ("GET", name, "/v1/models/nothing", None),
        ("DELETE", name, "/v1/models/nothing", None),
        ("PUT", f"{name}/aliases/{{alias}}", "/v1/models/nothing/aliases/prod", {"version": 1}),
        ("DELETE", f"{name}/aliases/{{alias}}", "/v1/models/nothing/aliases/prod", None),
        ("DELETE", f"{name}/versions/{{version}}", "/v1/models/nothing/versions/1", None),
        ("GET", f"{ref}/layers", "/v1/models/nothing/layers", None),
        ("GET", f"{ref}/projection", "/v1/models/nothing/projection", None),
        ("POST", f"{ref}/attributions", "/v1/models/nothing/attributions", ATTRIBUTE),
        ("POST", f"{ref}/traverse", "/v1/models/nothing/traverse", TRAVERSE),
        ("GET", f"{ref}/layers/{{layer}}/units/{{unit}}/examples", f"{EXAMPLES}", None),
        ("GET", f"{name}/compare", "/v1/models/nothing/compare?a=1&b=2", None),
        ("POST", f"{ref}/calibrate", "/v1/models/nothing/calibrate", {"dataset_id": dataset}),
        ("POST", f"{ref}/embed", "/v1/models/nothing/embed", ROWS),
        ("POST", f"{ref}/reconstruct", "/v1/models/nothing/reconstruct", ROWS),
        ("POST", f"{ref}/anomalies", "/v1/models/nothing/anomalies", ROWS),
        ("GET", v2, "/v2/models/nothing", None),
        ("GET", f"{v2}/ready", "/v2/models/nothing/ready", None),
        ("GET", f"{v2}/versions/{{version}}", "/v2/models/nothing/versions/1", None),
        ("GET", f"{v2}/versions/{{version}}/ready", "/v2/models/nothing/versions/1/ready", None),
        ("POST", f"{v2}/infer", "/v2/models/nothing/infer", V2),
        ("POST", f"{v2}/versions/{{version}}/infer", "/v2/models/nothing/versions/1/infer", V2),
    ]


def test_finding_4_the_list_is_every_database_backed_route(postgres_api: Server) -> None:
    paths = postgres_api.client.get("/openapi.json").json()["paths"]
    documented = {(m.upper(), path) for path, operations in paths.items() for m in operations}
    assert {(m, template) for m, template, _, _ in _routes(1)} == documented - NO_DATABASE


def _all_at_once(
    server: Server, routes: list[tuple[str, str, str, Any]]
) -> dict[str, tuple[int, float]]:
    """Every route requested at the same moment, each on a connection of its own (opened
    before): status and seconds of each."""
    clients = [httpx.Client(base_url=str(server.client.base_url), timeout=30) for _ in routes]
    for client in clients:
        assert client.get("/healthz").status_code == 200  # connected before the clock starts
    start = threading.Barrier(len(routes))

    def call(i: int) -> tuple[int, float]:
        method, _, path, body = routes[i]
        start.wait()
        started = time.monotonic()
        status = clients[i].request(method, path, json=body).status_code
        return status, time.monotonic() - started

    try:
        with ThreadPoolExecutor(len(routes)) as pool:
            answers = list(pool.map(call, range(len(routes))))
    finally:
        for client in clients:
            client.close()
    return {f"{m} {p}": answer for (m, _, p, _), answer in zip(routes, answers, strict=True)}


def _recovery(server: Server) -> float:
    """Seconds until /readyz and a read route answer 200 again."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        ready = server.client.get("/readyz", timeout=30).status_code == 200
        if ready and server.client.get("/v1/runs", timeout=30).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("the service did not recover within 30 s")


def _down(answers: dict[str, tuple[int, float]]) -> None:
    late = {
        route: answer for route, answer in answers.items() if answer[0] != 503 or answer[1] >= 5
    }
    assert not late, late


def test_finding_4_frozen_database_answers_503_within_5_s(
    postgres_api: Server, cluster: Cluster, record_property: Any
) -> None:
    dataset = postgres_api.upload(rows(50, 3))
    routes = _routes(dataset)
    assert postgres_api.client.get("/readyz").status_code == 200
    cluster.freeze()
    try:
        answers = _all_at_once(postgres_api, routes)
        metrics = _all_at_once(postgres_api, [("GET", "", "/metrics", None)])["GET /metrics"]
    finally:
        cluster.thaw()
    recovered = _recovery(postgres_api)
    record_property("frozen_routes", len(answers))
    record_property("frozen_slowest_answer_seconds", round(max(t for _, t in answers.values()), 2))
    record_property("thaw_recovery_seconds", round(recovered, 2))
    _down(answers)
    assert metrics[0] == 200 and metrics[1] < 5  # without the database's figures, but answered
    assert recovered < 2


def test_finding_4_restarted_database_is_503_while_down_then_recovers(
    postgres_api: Server, cluster: Cluster, record_property: Any
) -> None:
    dataset = postgres_api.upload(rows(50, 3))
    cluster.stop()
    try:
        answers = _all_at_once(postgres_api, _routes(dataset))
    finally:
        cluster.start()
    recovered = _recovery(postgres_api)
    record_property("stopped_slowest_answer_seconds", round(max(t for _, t in answers.values()), 2))
    record_property("restart_recovery_seconds", round(recovered, 2))
    _down(answers)
    assert recovered < 2
