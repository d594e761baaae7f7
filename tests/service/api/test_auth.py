"""API keys: protected mode, bearer keys, scopes, revocation, bootstrap from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.domain import keys
from service.store.db import make_engine, make_session_factory, transaction
from tests.service.conftest import is_problem, live_client


@pytest.fixture(scope="module")
def keyed(database_url: str) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """An app whose database has one key of each scope (one from HOURGLASS_API_KEYS)."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        tokens = {
            scope: keys.create_key(session, name=scope, scope=scope).token
            for scope in ("train", "infer")
        }
        revoked = keys.create_key(session, name="old", scope="admin")
        keys.revoke_key(session, revoked.id)
    engine.dispose()
    with live_client(
        database_url, api_keys="admin:boot-token-0123456789-abcdefghijklmnop"
    ) as client:
        yield client, tokens | {"admin": "boot-token-0123456789-abcdefghijklmnop"}, revoked.token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_key(keyed: tuple[TestClient, dict[str, str], str]) -> None:
    client, _, _ = keyed
    assert client.get("/healthz").json() == {"status": "ok"}


def test_missing_unknown_and_revoked_keys_are_401(
    keyed: tuple[TestClient, dict[str, str], str],
) -> None:
    client, _, revoked = keyed
    body = is_problem(client.get("/v1/datasets"), 401)
    assert body["title"] == "Unauthenticated"
    is_problem(client.get("/v1/datasets", headers=_auth("wrong")), 401)
    is_problem(client.get("/v1/datasets", headers=_auth(revoked)), 401)


def test_scopes_are_enforced(keyed: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, _ = keyed
    assert client.get("/v1/datasets", headers=_auth(tokens["train"])).status_code == 200
    assert client.get("/v1/models", headers=_auth(tokens["train"])).status_code == 200
    assert client.get("/v1/models", headers=_auth(tokens["infer"])).status_code == 200
    is_problem(client.get("/v1/datasets", headers=_auth(tokens["infer"])), 403)
    is_problem(client.post("/v1/runs", json={}, headers=_auth(tokens["infer"])), 403)
    alias = client.put(
        "/v1/models/x/aliases/prod", json={"version": 1}, headers=_auth(tokens["train"])
    )
    is_problem(alias, 403)
    admin = client.put(
        "/v1/models/x/aliases/prod", json={"version": 1}, headers=_auth(tokens["admin"])
    )
    is_problem(admin, 404)


def test_protected_mode_refuses_a_public_bind_without_keys(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.service.conftest import migrate

    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('open') / 'h.db'}")
    with pytest.raises(RuntimeError, match="refusing"), live_client(url, host="0.0.0.0"):
        pass
    with live_client(url, host="127.0.0.1") as client:
        assert client.get("/v1/datasets").status_code == 200


def test_kserve_v2_models_need_a_key_and_health_does_not(
    keyed: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = keyed
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2").json()["name"] == "hourglass"
    refused = client.post("/v2/models/any/infer", json={})
    assert refused.status_code == 401 and "error" in refused.json()  # the protocol's shape
    missing = client.get("/v2/models/any", headers=_auth(tokens["infer"]))
    assert missing.status_code == 404 and "any" in missing.json()["error"]
