"""Swagger UI at /docs and ReDoc at /redoc, from files the app serves itself (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
VENDOR = "/static/vendor"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference (Swagger UI 5, vendored)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} — API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """The API reference as one page (ReDoc 2, vendored; no web fonts)."""
    return get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} — API",
        redoc_js_url=f"{VENDOR}/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR}/favicon-32x32.png",
        with_google_fonts=False,
    )
