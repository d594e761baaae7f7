"""Request dependencies: the services built at start-up, the request's session, API keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.domain import keys, logins
from service.domain.services import Services as Services  # re-exported for the routes
from service.store.db import transaction

SAFE = ("GET", "HEAD")
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


async def get_services(request: Request) -> Services:
    """The app's services (async: FastAPI would run a plain function in the thread pool)."""
    services: Services = request.app.state.services
    return services


def get_session(services: Services = Depends(get_services)) -> Iterator[Session]:
    """One session per request, committed when the route returns, rolled back on error."""
    with transaction(services.factory) as session:
        yield session


SessionDep = Depends(get_session, scope="function")


def require(scope: str) -> Callable[..., Awaitable[None]]:
    """A dependency that checks the bearer key grants `scope`: from the key cache, on the event
    loop, when the key was seen since the keys last changed; else from the database, off it.

    A GET without a key may carry the dashboard's login cookie instead (its charts read the
    epoch stream and the projection); nothing that changes state is reachable with a cookie.
    """

    async def check(
        request: Request,
        services: Services = Depends(get_services),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        token = credentials.credentials if credentials else None
        login = request.cookies.get(logins.COOKIE) if request.method in SAFE else None
        if token is None and login:
            verdict = await run_in_threadpool(logins.verdict, services.factory, login)
        else:
            verdict = services.keys.cached(token) or await _load(services, token)
        keys.check(
            verdict,
            token_sent=token is not None or bool(login),
            scope=scope,
            open_without_keys=services.open_without_keys,
        )

    return check


async def _load(services: Services, token: str | None) -> keys.Verdict:
    verdict: keys.Verdict = await run_in_threadpool(services.keys.load, token)
    return verdict


ADMIN = Depends(require("admin"))
TRAIN = Depends(require("train"))
INFER = Depends(require("infer"))
