"""Request dependencies: the services built at start-up, the request's session, API keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.domain import keys
from service.domain.feeds import EpochFeed
from service.domain.lookup import Lookup
from service.domain.queue import JobQueue
from service.domain.runs import RunLimits
from service.store.db import SessionFactory, transaction

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


@dataclass
class Services:
    """What the entry point composed and the routes use."""

    engine: Engine
    factory: SessionFactory
    lookup: Lookup
    keys: keys.KeyCache
    queue: JobQueue
    feed: EpochFeed
    max_rows: int
    run_limits: RunLimits
    max_body_bytes: int
    open_without_keys: bool  # a loopback bind: with no active key, requests need none


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
    loop, when the key was seen since the keys last changed; else from the database, off it."""

    async def check(
        services: Services = Depends(get_services),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        token = credentials.credentials if credentials else None
        verdict = services.keys.cached(token)
        if verdict is None:
            verdict = await run_in_threadpool(services.keys.load, token)
        keys.check(
            verdict,
            token_sent=token is not None,
            scope=scope,
            open_without_keys=services.open_without_keys,
        )

    return check


ADMIN = Depends(require("admin"))
TRAIN = Depends(require("train"))
INFER = Depends(require("infer"))
