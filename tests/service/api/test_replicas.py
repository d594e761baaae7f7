"""Two live API replicas on one PostgreSQL database: what one changes, the other honours within
a second, though each answers `{ref}` and keys from its own memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.conftest import FINISHED, TINY, Server, hourglass, rows, server_env, serving
from tests.service.conftest import postgres_database

pytestmark = pytest.mark.postgres
ROW = {"instances": rows(1, 4, seed=3)}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("replicas")
    with (
        postgres_database() as url,
        serving(server_env(url, embedded_workers="1"), logs) as first,
        serving(server_env(url, embedded_workers="0"), logs) as second,
    ):
        yield first, second


def _until(check: Any, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"the change never reached the other replica ({check.__doc__})")


def test_an_alias_move_reaches_the_other_replica_within_a_second(
    replicas: tuple[Server, Server], record_property: Any
) -> None:
    first, second = replicas
    dataset = first.upload(rows(200, 4))
    run = first.post_run(dataset, "shared", TINY)
    assert first.wait_run(run["id"], lambda r: r["status"] in FINISHED, 120)["status"] == (
        "succeeded"
    )
    recal = first.client.post("/v1/models/shared/calibrate", json={"instances": rows(50, 4)})
    assert recal.status_code == 201
    assert first.client.put("/v1/models/shared/aliases/production", json={"version": 1}).is_success
    embed = "/v1/models/shared@production/embed"
    _until(lambda: second.client.post(embed, json=ROW).json().get("version") == 1)
    for _ in range(20):  # B now answers from memory
        assert second.client.post(embed, json=ROW).json()["version"] == 1
    assert first.client.put("/v1/models/shared/aliases/production", json={"version": 2}).is_success
    took = _until(lambda: second.client.post(embed, json=ROW).json()["version"] == 2)
    record_property("alias_move_seconds", round(took, 3))
    assert took <= 1.0
    assert first.client.post(embed, json=ROW).json()["version"] == 2  # its own write: at once
    assert first.client.delete("/v1/models/shared/aliases/production").status_code == 204
    _until(lambda: second.client.post(embed, json=ROW).status_code == 404)


def _new_key(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    created = hourglass("keys", "create", "--scope", "admin", env=env).stdout
    token = created.split("key=")[1].strip()
    return created.split("id=")[1].split()[0], {"Authorization": f"Bearer {token}"}


def test_a_revoked_key_is_refused_by_every_replica_within_a_second(
    replicas: tuple[Server, Server], record_property: Any
) -> None:
    first, second = replicas
    doomed_id, doomed = _new_key(first.env)
    kept_id, kept = _new_key(first.env)  # keys stay enforced after the revocation
    try:
        for server in (first, second):  # keys exist now: without one, 401
            _until(lambda s=server: s.client.get("/v1/models").status_code == 401)
            assert server.client.get("/v1/models", headers=doomed).status_code == 200
        assert hourglass("keys", "revoke", doomed_id, env=first.env).returncode == 0
        took = max(  # from the moment the revoking command has committed and exited
            _until(lambda s=server: s.client.get("/v1/models", headers=doomed).status_code == 401)
            for server in (first, second)
        )
        record_property("key_revocation_seconds", round(took, 3))
        assert took <= 1.0
        assert all(s.client.get("/v1/models", headers=kept).status_code == 200 for s in replicas)
    finally:
        hourglass("keys", "revoke", doomed_id, env=first.env)
        hourglass("keys", "revoke", kept_id, env=first.env)
