"""Logging in to the dashboard: an API key in, a login cookie out (HttpOnly, SameSite=Strict,
Secure behind TLS); logging out ends the login."""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.domain import logins
from service.errors import Unauthenticated
from service.ui.deps import PREFIX, PageSession, SameOrigin, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _next(target: str) -> str:
    """Only a dashboard path is a place to go back to (never another site)."""
    if target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/runs"


@router.get("/login")
def login_form(request: Request, next: str = Query(default="", max_length=2000)) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", viewer=None, next=_next(next), error=None)


@router.post("/login", dependencies=[SameOrigin])
def log_in(
    request: Request,
    key: str = Form(max_length=500),
    next: str = Form(default="", max_length=2000),
    session: Session = PageSession,
) -> Response:
    """Exchange the key for a login cookie and go where the viewer was going."""
    try:
        login = logins.log_in(session, key.strip())
    except Unauthenticated as exc:
        return render(request, "login.html", 401, viewer=None, next=_next(next), error=exc.detail)
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        logins.COOKIE,
        login.id,
        max_age=int(logins.LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", dependencies=[SameOrigin])
def log_out(request: Request, session: Session = PageSession) -> Response:
    """End the login and forget the cookie."""
    logins.log_out(session, request.cookies.get(logins.COOKIE))
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(logins.COOKIE, path="/", httponly=True, samesite="strict")
    return response
