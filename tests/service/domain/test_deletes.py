"""Each delete is one transaction: a failure half-way leaves everything as it was (issue 11
finding 4). The failure is real: a trigger in the database refuses the last step of each delete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.domain import datasets, registry, runs
from service.store.db import make_engine, make_session_factory, transaction
from service.store.tables import Blob, BlobChunk, ModelVersion, RunEpoch
from tests.service.conftest import normal_rows, train_model, upload_rows


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


@contextmanager
def refusing(engine: Engine, table: str) -> Iterator[None]:
    """While the block runs, the database refuses to delete any row of `table`."""
    if engine.dialect.name == "sqlite":
        create = [
            f"CREATE TRIGGER refuse_{table} BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = [f"DROP TRIGGER refuse_{table}"]
    else:
        create = [
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER refuse_{table} BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
        drop = [f"DROP TRIGGER refuse_{table} ON {table}"]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def _snapshot(engine: Engine) -> dict[str, Any]:
    with make_session_factory(engine)() as session:
        return {
            "blobs": session.scalar(select(func.count()).select_from(Blob)),
            "chunks": session.scalar(select(func.count()).select_from(BlobChunk)),
            "versions": sorted(
                (v.model_id, v.version, v.run_id) for v in session.scalars(select(ModelVersion))
            ),
            "epochs": session.scalar(select(func.count()).select_from(RunEpoch)),
        }


def _fails_and_changes_nothing(
    engine: Engine, table: str, delete: Callable[[Session], None]
) -> dict[str, Any]:
    before = _snapshot(engine)
    with refusing(engine, table), pytest.raises(DBAPIError, match="refused by the test"):  # noqa: SIM117
        with transaction(make_session_factory(engine)) as session:
            delete(session)
    assert _snapshot(engine) == before
    return before


def test_a_model_delete_that_fails_leaves_model_versions_aliases_and_blobs(
    client: TestClient, engine: Engine
) -> None:
    train_model(client, "whole")
    again = client.post(
        "/v1/models/whole/calibrate", json={"instances": normal_rows(40, 4).tolist()}
    )
    assert again.status_code == 201
    assert client.put("/v1/models/whole/aliases/production", json={"version": 2}).status_code == 200
    _fails_and_changes_nothing(engine, "blobs", lambda s: registry.delete_model(s, "whole"))
    detail = client.get("/v1/models/whole").json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["aliases"] == {"production": 2}
    assert (
        client.post("/v1/models/whole@2/embed", json={"instances": [[5.0] * 4]}).status_code == 200
    )


def test_a_version_delete_that_fails_leaves_the_version(client: TestClient, engine: Engine) -> None:
    train_model(client, "versioned")
    made = client.post(
        "/v1/models/versioned/calibrate", json={"instances": normal_rows(40, 4).tolist()}
    )
    number = made.json()["version"]
    _fails_and_changes_nothing(  # its calibration blob is used by nothing else
        engine, "blobs", lambda s: registry.delete_version(s, "versioned", number)
    )
    answer = client.post(f"/v1/models/versioned@{number}/embed", json={"instances": [[5.0] * 4]})
    assert answer.status_code == 200


def test_a_run_delete_that_fails_keeps_its_epochs_and_its_version_s_link(
    client: TestClient, engine: Engine
) -> None:
    _, run = train_model(client, "ran")
    before = _fails_and_changes_nothing(engine, "runs", lambda s: runs.delete_run(s, run["id"]))
    assert any(link == run["id"] for _, _, link in before["versions"])
    assert len(client.get(f"/v1/runs/{run['id']}/epochs").json()["items"]) == 3
    assert client.delete(f"/v1/runs/{run['id']}").status_code == 204  # then it goes, epochs too
    with make_session_factory(engine)() as session:
        left = select(func.count()).select_from(RunEpoch).where(RunEpoch.run_id == run["id"])
        assert session.scalar(left) == 0


def test_a_dataset_delete_that_fails_keeps_the_dataset(client: TestClient, engine: Engine) -> None:
    dataset = upload_rows(client, normal_rows(30, 4, seed=77), name="kept-rows")
    _fails_and_changes_nothing(engine, "blobs", lambda s: datasets.delete_dataset(s, dataset["id"]))
    assert client.get(f"/v1/datasets/{dataset['id']}").json()["n_rows"] == 30
