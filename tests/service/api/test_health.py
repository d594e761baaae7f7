"""Health, readiness (503 when behind the newest migration), metrics, the body cap, problems."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.store.db import make_engine
from service.store.migrate import downgrade, upgrade
from tests.service.conftest import POSTGRES_URL, empty_database, is_problem, live_client, migrate


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_the_schema_is_behind(database_url: str) -> None:
    with live_client(database_url, embedded_workers=0) as client:
        engine = make_engine(database_url)
        downgrade(engine, "base")
        try:
            is_problem(client.get("/readyz"), 503)
        finally:
            upgrade(engine)
            engine.dispose()
        assert client.get("/readyz").status_code == 200


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/v1/datasets/12345")
    text = client.get("/metrics").text
    assert 'route="/v1/datasets/{dataset_id}"' in text
    assert 'hourglass_runs{status="queued"}' in text
    assert "hourglass_model_cache" in text


def test_body_over_the_cap_is_413(client: TestClient) -> None:
    big = b"a,b\n" + b"1,2\n" * 700_000
    body = is_problem(client.post("/v1/datasets", files={"file": ("big.csv", big)}), 413)
    assert body["title"] == "BodyTooLarge"
    chunks = (b"[" + b"1," * 100_000 + b"1]" for _ in range(20))
    streamed = client.post(
        "/v1/models/x/embed", content=chunks, headers={"content-type": "application/json"}
    )
    is_problem(streamed, 413)


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    is_problem(client.get("/v1/nothing"), 404)
    # Allow names every method of the path, not only those of the first route that matched it.
    assert (
        is_problem(client.put("/v1/datasets"), 405)
        and client.put("/v1/datasets").headers["allow"] == "GET, POST"
    )
    assert client.patch("/v1/models/m/aliases/a").headers["allow"] == "DELETE, PUT"
    is_problem(client.get("/v1/datasets", params={"limit": 0}), 422)


@pytest.mark.postgres
def test_database_down_is_503_not_500(tmp_path_factory: pytest.TempPathFactory) -> None:
    with empty_database("postgres", tmp_path_factory) as url:
        migrate(url)
        with live_client(url, embedded_workers=0) as client:
            assert client.get("/readyz").status_code == 200
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:  # the database disappears under the server
                name = make_url(url).database
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
            is_problem(client.get("/readyz"), 503)
            is_problem(client.get("/v1/datasets"), 503)
            assert client.get("/healthz").status_code == 200
