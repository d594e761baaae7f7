"""RFC 9457 problem documents: one status table, one renderer, the handlers that use them."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from service import errors

logger = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
V2_PREFIX = "/v2/"

STATUS: dict[type[errors.ServiceError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.BadInput: 422,
    errors.BodyTooLarge: 413,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.Unavailable: 503,
    errors.NotAcceptable: 406,
    errors.UnsupportedMediaType: 415,
}
HTTP_TITLES = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest", 413: "BodyTooLarge"}
MAX_DETAIL = 1_000  # characters: a problem document stays small (~4 KB) whatever was sent
MAX_ITEMS = 10
MAX_TEXT = 200


def status_of(exc: errors.ServiceError) -> int:
    """The HTTP status of a domain exception (most specific class first; default 500)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def answer(
    path: str,
    status: int,
    title: str,
    detail: str,
    *,
    errors_: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem document; on the KServe V2 routes the protocol's `{"error": "..."}` instead."""
    if path.startswith(V2_PREFIX):
        body = orjson.dumps({"error": _clip(detail, MAX_DETAIL)})
        return Response(body, status, headers=headers, media_type="application/json")
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", title).lower()
    document: dict[str, Any] = {
        "type": f"urn:hourglass:problem:{slug}",
        "title": title,
        "status": status,
        "detail": _clip(detail, MAX_DETAIL),
    }
    if errors_ is not None:
        document["errors"] = [_item(e) for e in errors_[:MAX_ITEMS]]
    return Response(orjson.dumps(document), status, headers=headers, media_type=MEDIA_TYPE)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _item(item: dict[str, Any]) -> dict[str, Any]:
    loc = [p if isinstance(p, int) else _clip(str(p), MAX_TEXT) for p in item.get("loc", [])]
    return {"loc": loc[:MAX_ITEMS], "msg": _clip(str(item.get("msg", "")), MAX_TEXT)}


@dataclass(frozen=True)
class ErrorPages:
    """Errors under `prefix` (the dashboard's) are pages that `render` draws, not documents."""

    prefix: str
    render: Callable[[Request, int, str, str], Response]


def _respond(request: Request, status: int, title: str, detail: str, **extra: Any) -> Response:
    """`answer` for the request's path; under the error pages' prefix, a page instead."""
    pages: ErrorPages | None = getattr(request.app.state, "error_pages", None)
    if pages is not None and request.url.path.startswith(pages.prefix):
        return pages.render(request, status, title, detail)
    return answer(request.url.path, status, title, detail, **extra)


async def on_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ServiceError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    extra = getattr(exc, "errors", None)
    return _respond(request, status, type(exc).__name__, exc.detail, errors_=extra, headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in items[:3])
    return _respond(request, 422, "ValidationError", detail or "invalid request", errors_=items)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = HTTP_TITLES.get(exc.status_code, f"Http{exc.status_code}")
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return _respond(request, exc.status_code, title, str(exc.detail), headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (starlette names only the first route's)."""
    routes: list[APIRoute] = request.app.state.api_routes
    path = request.url.path
    return sorted({m for r in routes if r.path_regex.match(path) for m in r.methods or ()})


async def on_database_down(request: Request, exc: Exception) -> Response:
    logger.error("database unavailable: %s", exc, extra={"action": "database"})
    return _respond(request, 503, "Unavailable", "the database is not available")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error", exc_info=exc)
    return _respond(
        request, 500, "InternalError", "an unexpected error occurred; it has been logged"
    )


def install(app: FastAPI, routers: list[APIRouter], pages: ErrorPages | None = None) -> None:
    """Route every error through a problem document (or, under `pages.prefix`, a page);
    `routers` are the app's, for `Allow`."""
    app.state.error_pages = pages
    app.state.api_routes = [
        r for router in routers for r in router.routes if isinstance(r, APIRoute)
    ]
    app.add_exception_handler(errors.ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(InterfaceError, on_database_down)
    app.add_exception_handler(PoolTimeout, on_database_down)  # every pooled connection is stuck
    app.add_exception_handler(Exception, on_unexpected)
