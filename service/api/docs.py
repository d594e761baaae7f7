"""Swagger UI at /docs and ReDoc at /redoc, from files the app serves itself (no CDN)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
VENDOR = "/static/vendor"
router = APIRouter(include_in_schema=False)


FAVICON = f"{VENDOR}/favicon-32x32.png"
SWAGGER_UI = {
    "swagger_js_url": f"{VENDOR}/swagger-ui-bundle.js",
    "swagger_css_url": f"{VENDOR}/swagger-ui.css",
    "swagger_favicon_url": FAVICON,
}
REDOC = {
    "redoc_js_url": f"{VENDOR}/redoc.standalone.js",
    "redoc_favicon_url": FAVICON,
    "with_google_fonts": False,
}


def _page(
    request: Request, render: Callable[..., HTMLResponse], assets: dict[str, Any]
) -> HTMLResponse:
    """A reference page of this app's OpenAPI document, drawn with the vendored `assets`."""
    title = f"{request.app.title} — API"
    return render(openapi_url="/openapi.json", title=title, **assets)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference (Swagger UI 5, vendored)."""
    return _page(request, get_swagger_ui_html, SWAGGER_UI)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The API reference as one page (ReDoc 2, vendored; no web fonts)."""
    return _page(request, get_redoc_html, REDOC)
