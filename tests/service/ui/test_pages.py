"""The dashboard over HTTP (no browser): who may see what, logins stored hashed with a TTL, the
cookie's attributes, same-origin forms, CSP, confirmations, and nothing from another host."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.store.db import transaction
from service.store.tables import Login, utcnow
from tests.service.conftest import live_client, migrate, normal_rows, start_run, upload_rows
from tests.service.conftest import wait_for_run as finish

UI = Path(__file__).parents[3] / "service" / "ui"
ADMIN = "a" * 43
INFER = "i" * 43
ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture(scope="module")
def open_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Loopback, no keys: no login."""
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'h.db'}")
    with live_client(url) as client:
        dataset = upload_rows(client, normal_rows(120, 4))
        run = finish(client, start_run(client, dataset["id"], "pages")["id"])
        assert run["status"] == "succeeded"
        yield client


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Keys exist: every page needs a login."""
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'h.db'}")
    with live_client(url, api_keys=f"admin:{ADMIN},infer:{INFER}") as client:
        yield client


def _log_in(client: TestClient, key: str) -> str:
    response = client.post(
        "/ui/login", data={"key": key, "next": "/ui/models"}, headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/models"
    cookie: str = response.cookies["hourglass_login"]
    return cookie


def _services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def test_loopback_without_keys_needs_no_login(open_client: TestClient) -> None:
    for path in ["/ui/runs", "/ui/runs/1", "/ui/models", "/ui/models/pages"]:
        page = open_client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    version = open_client.get("/ui/models/pages/versions/1").text
    assert 'data-src="/v1/models/pages@1/projection' in version and "data-threshold=" in version


def test_pages_hold_no_inline_script_style_or_other_host() -> None:
    for path in sorted((UI / "templates").glob("*.html")) + sorted((UI / "static").iterdir()):
        text = path.read_text()
        assert "http" not in text.replace("HX-Request", ""), path  # no URL of another host
        assert "style=" not in text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path  # every script is a file
        assert " on" + "click=" not in text and "hx-on" not in text, path


def test_a_page_without_login_goes_to_the_login_form(keyed: TestClient) -> None:
    keyed.cookies.clear()
    page = keyed.get("/ui/runs?status=running", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/runs%3Fstatus%3Drunning"
    assert keyed.get("/ui/login").status_code == 200


def test_login_stores_only_a_hash_and_sets_a_strict_cookie(keyed: TestClient) -> None:
    keyed.cookies.clear()
    response = keyed.post("/ui/login", data={"key": ADMIN}, headers=ORIGIN, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    login_id = response.cookies["hourglass_login"]
    with transaction(_services(keyed).factory) as session:
        hashes = session.scalars(select(Login.login_hash)).all()
        expires = session.scalars(select(Login.expires_at)).all()
    assert hashlib.sha256(login_id.encode()).hexdigest() in hashes and login_id not in hashes
    assert all(
        abs(e.replace(tzinfo=None) - utcnow().replace(tzinfo=None) - timedelta(hours=12))
        < timedelta(minutes=1)
        for e in expires
    )


def test_behind_tls_the_cookie_is_secure(keyed: TestClient) -> None:
    response = keyed.post(
        "https://testserver/ui/login",
        data={"key": ADMIN},
        headers={"Origin": "https://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_forms_from_another_origin_are_refused(keyed: TestClient) -> None:
    keyed.cookies.clear()
    for headers in [{}, {"Origin": "http://evil.example"}, {"Origin": "null"}]:
        refused = keyed.post("/ui/login", data={"key": ADMIN}, headers=headers)
        assert refused.status_code == 403 and "another origin" in refused.text
        assert "set-cookie" not in refused.headers


def test_a_wrong_key_is_refused_on_the_form(keyed: TestClient) -> None:
    keyed.cookies.clear()
    refused = keyed.post("/ui/login", data={"key": "nope" * 11}, headers=ORIGIN)
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert "set-cookie" not in refused.headers


def test_scopes_hold_on_pages_and_the_cookie_reads_but_never_writes(keyed: TestClient) -> None:
    keyed.cookies.clear()
    keyed.cookies.set("hourglass_login", _log_in(keyed, INFER))
    assert keyed.get("/ui/models").status_code == 200
    forbidden = keyed.get("/ui/runs")
    assert forbidden.status_code == 403 and "needs the &#39;train&#39; scope" in forbidden.text
    assert keyed.get("/v1/models").status_code == 200  # a GET of the API, by cookie
    assert keyed.post("/v1/runs", json={}).status_code == 401  # never a write
    keyed.cookies.set("hourglass_login", _log_in(keyed, ADMIN))
    assert keyed.get("/ui/runs").status_code == 200


def test_an_expired_login_and_a_logout_end_it(keyed: TestClient) -> None:
    keyed.cookies.clear()
    login_id = _log_in(keyed, ADMIN)
    keyed.cookies.set("hourglass_login", login_id)
    assert keyed.get("/ui/models", follow_redirects=False).status_code == 200
    digest = hashlib.sha256(login_id.encode()).hexdigest()
    with transaction(_services(keyed).factory) as session:
        session.execute(
            update(Login)
            .where(Login.login_hash == digest)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert keyed.get("/ui/models", follow_redirects=False).status_code == 303
    keyed.cookies.set("hourglass_login", _log_in(keyed, ADMIN))
    assert keyed.post("/ui/logout", headers=ORIGIN, follow_redirects=False).status_code == 303
    assert keyed.get("/ui/models", follow_redirects=False).status_code == 303


def test_login_goes_back_only_to_the_dashboard(keyed: TestClient) -> None:
    for target in ["https://evil.example/", "//evil.example", "/v1/models", "/ui\\evil"]:
        response = keyed.post(
            "/ui/login",
            data={"key": ADMIN, "next": target},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert response.headers["location"] == "/ui/runs", target


def test_moving_an_alias_is_confirmed_first(open_client: TestClient) -> None:
    calibrated = open_client.post(
        "/v1/models/pages@1/calibrate", json={"instances": normal_rows(60, 4).tolist()}
    )
    second = calibrated.json()["version"]
    form = {"alias": "production", "version": "1"}
    placed = open_client.post("/ui/models/pages/aliases", data=form, headers=ORIGIN)
    assert placed.status_code == 200 and open_client.get("/v1/models").json()["items"][0][
        "aliases"
    ] == {"production": 1}  # a new alias needs no confirmation
    form["version"] = str(second)
    asked = open_client.post("/ui/models/pages/aliases", data=form, headers=ORIGIN)
    assert f"from version 1 to version {second}" in asked.text
    assert open_client.get("/v1/models/pages").json()["aliases"] == {"production": 1}
    moved = open_client.post(
        "/ui/models/pages/aliases", data=form | {"confirm": "yes"}, headers=ORIGIN
    )
    assert moved.status_code == 200
    assert open_client.get("/v1/models/pages").json()["aliases"] == {"production": second}
    refused = open_client.post(
        f"/ui/models/pages/versions/{second}/delete", data={"confirm": "yes"}, headers=ORIGIN
    )
    assert refused.status_code == 409 and "alias &#39;production&#39;" in refused.text
    bad = open_client.post("/ui/models/pages/aliases", data=form | {"alias": "7"}, headers=ORIGIN)
    assert bad.status_code == 422 and "alias" in bad.text


def test_a_version_is_deleted_only_once_confirmed(open_client: TestClient) -> None:
    made = open_client.post(
        "/v1/models/pages@1/calibrate", json={"instances": normal_rows(60, 4).tolist()}
    ).json()["version"]
    path = f"/ui/models/pages/versions/{made}/delete"
    asked = open_client.post(path, headers=ORIGIN)
    assert "cannot be undone" in asked.text
    assert open_client.get(f"/v1/models/pages@{made}/layers").status_code == 200
    done = open_client.post(path, data={"confirm": "yes"}, headers=ORIGIN, follow_redirects=False)
    assert done.status_code == 303
    assert open_client.get(f"/v1/models/pages@{made}/layers").status_code == 404


def test_explaining_a_bad_row_names_the_problem(open_client: TestClient) -> None:
    path = "/ui/models/pages/versions/1/explain"
    form = {"row": "1, 2, x, 4", "alpha": "0.05", "top": "4"}
    bad = open_client.post(path, data=form, headers=ORIGIN)
    assert (
        bad.status_code == 422 and "&#39;x&#39; (column &#39;c2&#39;) is not a number" in bad.text
    )
    short = open_client.post(path, data=form | {"row": "1 2"}, headers=ORIGIN)
    assert short.status_code == 422 and "2 values for the model&#39;s 4 columns" in short.text


def test_unknown_things_are_pages_not_documents(open_client: TestClient) -> None:
    missing = open_client.get("/ui/runs/999999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "run 999999 does not exist" in missing.text
    assert open_client.get("/ui/runs?status=nope").status_code == 422
    assert (
        open_client.get("/v1/runs/999999")
        .headers["content-type"]
        .startswith("application/problem+json")
    )
