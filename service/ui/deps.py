"""What every dashboard page needs: templates, the request's session, who is looking (a login,
or nobody in loopback mode without keys), same-origin forms, and error pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.domain import logins
from service.domain.keys import GRANTS
from service.domain.services import Services
from service.errors import CrossOrigin, Forbidden, LoginRequired
from service.store.db import transaction
from service.ui import views

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters.update(duration=views.duration, when=views.when, number=views.number)
PREFIX = "/ui"
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def services_of(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


def page_session(request: Request) -> Iterator[Session]:
    """One session per page, committed when the route returns, rolled back on error."""
    with transaction(services_of(request).factory) as session:
        yield session


PageSession = Depends(page_session, scope="function")


@dataclass(frozen=True)
class Viewer:
    """Who looks at the dashboard: the scope of their login's key (admin in loopback mode)."""

    scope: str
    logged_in: bool

    def may(self, scope: str) -> bool:
        """Whether the viewer's scope grants `scope`."""
        return scope in GRANTS.get(self.scope, set())

    def require(self, scope: str) -> None:
        """Forbidden unless the viewer's scope grants `scope`."""
        if not self.may(scope):
            raise Forbidden(f"this page needs the {scope!r} scope; your key has {self.scope!r}")


async def viewer(request: Request) -> Viewer:
    """The viewer, or LoginRequired (a redirect to the login form)."""
    services = services_of(request)
    login = request.cookies.get(logins.COOKIE, "")
    verdict = await run_in_threadpool(logins.verdict, services.factory, login)
    if not verdict.keys_exist and services.open_without_keys:
        return Viewer("admin", logged_in=False)
    if verdict.scope is None:
        raise LoginRequired()
    return Viewer(verdict.scope, logged_in=True)


ViewerDep = Depends(viewer)


async def same_origin(request: Request) -> None:
    """Refuse a form posted from another origin: its Origin must name this host."""
    origin = request.headers.get("origin", "")
    if not origin or urlsplit(origin).netloc != request.headers.get("host"):
        raise CrossOrigin()


SameOrigin = Depends(same_origin)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page (or an htmx fragment) from its template."""
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """A dashboard error: the login form for 401, else a page naming the problem."""
    if status == 401:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{PREFIX}/login?next={target}", status_code=303)
    return render(request, "error.html", status, title=title, detail=detail, viewer=None)


class SecurityHeaders:
    """CSP (no inline script or style, nothing from elsewhere) and friends on every /ui answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
