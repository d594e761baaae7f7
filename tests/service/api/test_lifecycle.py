"""Deleting what was made: runs, versions, models, then the dataset they used; blobs go too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.store.db import make_engine
from service.store.tables import Blob
from tests.service.conftest import (
    is_problem,
    live_client,
    migrate,
    normal_rows,
    start_run,
    train_model,
    upload_rows,
    wait_for_run,
)


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    with live_client(database_url) as live:
        yield live


def _blobs(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Blob)).scalar_one()
    engine.dispose()
    return int(count)


def test_everything_made_can_be_deleted_and_the_blobs_go_with_it(
    client: TestClient, database_url: str
) -> None:
    before = _blobs(database_url)
    dataset, run = train_model(client, "doomed")
    recalibrated = client.post("/v1/models/doomed/calibrate", json={"dataset_id": dataset["id"]})
    assert recalibrated.status_code == 201
    # the dataset, the weights, a calibration, and each version's sample of calibration rows
    assert _blobs(database_url) == before + 5
    is_problem(client.delete(f"/v1/datasets/{dataset['id']}"), 409)  # a run uses it
    assert client.delete(f"/v1/runs/{run['id']}").status_code == 204
    is_problem(client.get(f"/v1/runs/{run['id']}"), 404)
    is_problem(client.get(f"/v1/runs/{run['id']}/epochs"), 404)
    versions = client.get("/v1/models/doomed").json()["versions"]
    assert [v["run_id"] for v in versions] == [None, None]  # the versions stay
    assert client.delete(f"/v1/datasets/{dataset['id']}").status_code == 204
    assert client.delete("/v1/models/doomed").status_code == 204
    is_problem(client.get("/v1/models/doomed"), 404)
    assert _blobs(database_url) == before


def test_a_version_an_alias_points_at_cannot_be_deleted(client: TestClient) -> None:
    train_model(client, "kept")
    second = client.post(
        "/v1/models/kept/calibrate", json={"instances": normal_rows(60, 4).tolist()}
    )
    number = second.json()["version"]
    assert client.put("/v1/models/kept/aliases/production", json={"version": 1}).status_code == 200
    problem = is_problem(client.delete("/v1/models/kept/versions/1"), 409)
    assert "production" in problem["detail"]
    assert client.delete(f"/v1/models/kept/versions/{number}").status_code == 204
    is_problem(client.post(f"/v1/models/kept@{number}/embed", json={"instances": [[1.0] * 4]}), 404)
    assert client.get("/v1/models/kept").json()["versions"][0]["version"] == 1
    assert client.delete("/v1/models/kept/aliases/production").status_code == 204
    assert client.delete("/v1/models/kept/versions/1").status_code == 204
    listed = {m["name"]: m for m in client.get("/v1/models").json()["items"]}
    assert listed["kept"]["latest_version"] is None
    is_problem(client.post("/v1/models/kept/embed", json={"instances": [[1.0] * 4]}), 404)


def test_unfinished_runs_cannot_be_deleted(database_url: str) -> None:
    with live_client(database_url, embedded_workers=0) as idle:
        dataset = upload_rows(idle, normal_rows(40, 4))
        queued = start_run(idle, dataset["id"], "waiting")
        problem = is_problem(idle.delete(f"/v1/runs/{queued['id']}"), 409)
        assert "cancel it first" in problem["detail"]
        idle.post(f"/v1/runs/{queued['id']}/cancel")
        # On PostgreSQL the module's other app has a worker that may have claimed it already.
        assert wait_for_run(idle, queued["id"])["status"] in ("cancelled", "succeeded")
        assert idle.delete(f"/v1/runs/{queued['id']}").status_code == 204


def test_deleting_needs_the_right_scope(tmp_path: Path) -> None:
    from service.domain import keys
    from service.store.db import make_session_factory, transaction

    database_url = migrate(f"sqlite:///{tmp_path / 'keyed.db'}")  # keys would close the others
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        token = keys.create_key(session, name="trainer", scope="train").token
    engine.dispose()
    with live_client(database_url) as keyed:
        headers = {"Authorization": f"Bearer {token}"}
        is_problem(keyed.delete("/v1/models/anything", headers=headers), 403)
        is_problem(keyed.delete("/v1/models/anything/versions/1", headers=headers), 403)
        is_problem(keyed.delete("/v1/runs/999999", headers=headers), 404)  # train may
