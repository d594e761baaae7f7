"""/docs and /redoc render every operation in Chromium with nothing fetched from the internet."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Guard
from tests.faults.conftest import Server, hourglass, server_env, serving
from tests.service.conftest import normal_rows

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("docs")
    with serving(server_env(f"sqlite:///{logs / 'h.db'}", embedded_workers="0"), logs) as live:
        # The examples' model: `sensors`, 3 columns, from dataset 1 (120 rows, enough for a
        # recalibration at alpha 0.01), so that inference bodies are read, not answered 404.
        rows = logs / "sensors.csv"
        np.savetxt(rows, normal_rows(120, 3), delimiter=",", header="a,b,c", comments="")
        trained = hourglass(
            "train", str(rows), "--model-name", "sensors", "--epochs", "2", env=live.env
        )
        assert trained.returncode == 0, trained.stdout + trained.stderr
        yield live


def _operations(server: Server) -> int:
    paths = httpx.get(f"{server.client.base_url}/openapi.json").json()["paths"]
    return sum(len(item) for item in paths.values())


def test_swagger_ui_renders_every_operation_offline(
    server: Server, page: Page, guard: Guard
) -> None:
    tab = page
    tab.goto(f"{server.client.base_url}/docs")
    operations = tab.locator(".opblock")
    operations.first.wait_for(timeout=30_000)
    assert operations.count() == _operations(server)
    assert tab.locator(".opblock-summary-path", has_text="/v1/models/{ref}/anomalies").count() == 1
    guard.check()


def test_redoc_renders_every_operation_offline(server: Server, page: Page, guard: Guard) -> None:
    tab = page
    # ReDoc 2 hard-codes its attribution logo on a CDN; blocked here (and offline) the image
    # hides itself. Nothing else may leave loopback.
    guard.allowed.add(REDOCLY_LOGO)
    tab.goto(f"{server.client.base_url}/redoc")
    operations = tab.locator("[data-section-id^='operation/']")
    operations.first.wait_for(timeout=30_000)
    assert operations.count() == _operations(server)
    assert guard.outside == [REDOCLY_LOGO]
    guard.check()


PATH_VALUES = {"ref": "sensors", "name": "sensors", "alias": "staging", "version": "1"}


def _path(template: str) -> str:
    """A concrete path for a route template: ids 1, the examples' model."""
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), template)


def test_every_example_swagger_ui_shows_is_a_body_the_server_takes(
    server: Server, page: Page, guard: Guard
) -> None:
    # Issue 11 finding 7: "Try it out" offered {"instances": null, "records": null, …} → 422.
    document = httpx.get(f"{server.client.base_url}/openapi.json").json()
    bodies = [
        (method, path, operation["operationId"], next(iter(operation["tags"]), "default"))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    page.goto(f"{server.client.base_url}/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    for method, path, operation_id, tag in bodies:
        block = page.locator(
            f"#operations-{tag.replace(' ', '_')}-{operation_id}"
        )  # Swagger UI: space → _
        block.locator(".opblock-summary").click()
        shown = block.locator("pre.body-param__example").first
        shown.wait_for(timeout=10_000)
        example = json.loads(shown.inner_text())
        answer = server.client.request(method.upper(), _path(path), json=example)
        if operation_id == "setAlias":  # the body is read, then the example's version 3 looked up
            assert answer.status_code == 404 and "no version 3" in answer.text, answer.text
            continue
        assert answer.status_code in (200, 201, 202), (operation_id, example, answer.text)
    assert len(bodies) >= 8
    guard.check()


def test_assets_are_served_by_the_app(server: Server) -> None:
    html = httpx.get(f"{server.client.base_url}/docs").text
    assert "cdn" not in html and "https://" not in html
    js = httpx.get(f"{server.client.base_url}/static/vendor/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert Path(__file__).exists()
