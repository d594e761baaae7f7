"""The vendored Swagger UI and ReDoc files are the npm packages' own (service/static/vendor)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app

VENDOR = Path(__file__).parents[3] / "service" / "static" / "vendor"
NOT_VENDORED = {"MANIFEST.json", "README.md", "redoc.LICENSE", "swagger-ui-dist.LICENSE"}


def test_every_vendored_file_matches_its_checksum() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    on_disk = {path.name for path in VENDOR.iterdir()} - NOT_VENDORED
    assert on_disk == set(manifest)
    for name, pinned in manifest.items():
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert digest == pinned["sha256"], f"{name} differs from {pinned['package']}"
        assert pinned["package"] in ("swagger-ui-dist", "redoc") and pinned["version"]


def test_the_app_serves_the_vendored_files_and_no_cdn() -> None:
    client = TestClient(create_app(Settings(database_url="sqlite://")))
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "/static/vendor/" in html and "https://" not in html
    served = client.get("/static/vendor/redoc.standalone.js")
    assert served.content == (VENDOR / "redoc.standalone.js").read_bytes()
