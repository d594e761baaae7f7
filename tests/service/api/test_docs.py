"""The vendored Swagger UI and ReDoc files are the npm packages' own (service/static/vendor)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app

VENDOR = Path(__file__).parents[3] / "service" / "static" / "vendor"


def test_the_app_serves_the_vendored_files_and_no_cdn() -> None:
    client = TestClient(create_app(Settings(database_url="sqlite://")))
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "/static/vendor/" in html and "https://" not in html
    served = client.get("/static/vendor/redoc.standalone.js")
    assert served.content == (VENDOR / "redoc.standalone.js").read_bytes()
