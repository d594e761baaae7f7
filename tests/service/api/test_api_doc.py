"""docs/api.md is the contract: every route the OpenAPI document has is written down there."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.main import create_app

DOC = (Path(__file__).parents[3] / "docs" / "api.md").read_text()


def _operations() -> list[str]:
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    ]


@pytest.mark.parametrize("operation", _operations())
def test_every_route_is_in_the_api_reference(operation: str) -> None:
    assert f"`{operation}" in DOC, f"docs/api.md does not document {operation}"
