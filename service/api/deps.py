"""Request dependencies: the services built at start-up, the request's session, API keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.domain import keys
from service.domain.inference import DetectorCache
from service.domain.queue import JobQueue
from service.domain.runs import RunLimits
from service.store.db import SessionFactory, transaction

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`.")


@dataclass
class Services:
    """What the entry point composed and the routes use."""

    engine: Engine
    factory: SessionFactory
    cache: DetectorCache
    queue: JobQueue
    max_rows: int
    run_limits: RunLimits
    max_body_bytes: int
    open_without_keys: bool  # a loopback bind: with no active key, requests need none


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


def get_session(services: Services = Depends(get_services)) -> Iterator[Session]:
    """One session per request, committed when the route returns, rolled back on error."""
    with transaction(services.factory) as session:
        yield session


SessionDep = Depends(get_session, scope="function")


def require(scope: str) -> Callable[..., None]:
    """A dependency that checks the bearer key grants `scope`."""

    def check(
        session: Session = SessionDep,
        services: Services = Depends(get_services),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        keys.authorize(
            session,
            credentials.credentials if credentials else None,
            scope=scope,
            open_without_keys=services.open_without_keys,
        )

    return check


ADMIN = Depends(require("admin"))
TRAIN = Depends(require("train"))
INFER = Depends(require("infer"))
