"""create_app(settings): the FastAPI app, its lifespan, routers, middleware and error handlers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import torch
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.api import datasets, health, inference, problems, registry, runs
from service.api.deps import Services
from service.api.limits import BodyLimitMiddleware
from service.api.metrics import MetricsMiddleware
from service.api.openapi import build_openapi
from service.config import Settings, is_loopback
from service.domain import keys
from service.domain.inference import DetectorCache
from service.jobs.base import Dispatcher, NoDispatcher
from service.jobs.embedded import EmbeddedDispatcher
from service.jobs.worker import ProcrastinateDispatcher, worker_spec
from service.logs import configure_logging
from service.store.db import make_engine, make_session_factory, transaction
from service.store.migrate import is_at_head

logger = logging.getLogger(__name__)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def make_dispatcher(settings: Settings, services: Services) -> Dispatcher:
    """PostgreSQL: procrastinate jobs (plus HOURGLASS_EMBEDDED_WORKERS worker processes of the
    server's own). SQLite: the embedded executor, or none when HOURGLASS_EMBEDDED_WORKERS=0."""
    if services.engine.dialect.name == "postgresql":
        return ProcrastinateDispatcher(worker_spec(settings), processes=settings.embedded_workers)
    if settings.embedded_workers == 0:
        return NoDispatcher()
    return EmbeddedDispatcher(
        services.factory,
        database_url=settings.database_url,
        workers=settings.embedded_workers,
        torch_threads=settings.torch_threads,
        device=settings.device,
        max_attempts=settings.max_attempts,
        log_level=settings.log_level,
        log_format=settings.log_format,
    )


def prepare(settings: Settings, services: Services) -> None:
    """Start-up checks: schema at head, bootstrap keys, protected mode."""
    if not is_at_head(services.engine):
        raise RuntimeError(
            "the database is not at the newest migration: run `hourglass db upgrade`"
        )
    with transaction(services.factory) as session:
        keys.bootstrap_keys(session, settings.api_keys)
        protected = not keys.keys_required(session)
    if protected and not is_loopback(settings.host):
        raise RuntimeError(
            f"refusing to serve on {settings.host} without API keys: create one with "
            "`hourglass keys create --scope admin` or set HOURGLASS_API_KEYS"
        )


def make_services(settings: Settings) -> Services:
    """Engine, sessions and the Detector cache; the job queue is attached by create_app."""
    engine = make_engine(settings.database_url)
    return Services(
        engine=engine,
        factory=make_session_factory(engine),
        cache=DetectorCache(settings.model_cache_size),
        queue=NoDispatcher(),
        max_rows=settings.max_rows,
        max_parameters=settings.max_parameters,
        max_body_bytes=settings.max_body_bytes,
    )


def make_lifespan(settings: Settings, services: Services, jobs: Dispatcher) -> Lifespan:
    """Start-up checks, thread budget and the job dispatcher; the reverse on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(prepare, settings, services)
        torch.set_num_threads(settings.inference_threads)
        jobs.start()
        gc.freeze()  # start-up objects never need collecting; cuts p99 (DESIGN.md)
        logger.info("serving", extra={"action": "start", "host": settings.host})
        try:
            yield
        finally:
            jobs.stop()
            services.engine.dispose()
            logger.info("stopped", extra={"action": "stop"})

    return lifespan


def create_app(settings: Settings, *, dispatcher: Dispatcher | None = None) -> FastAPI:
    """Compose engine, sessions, cache and job dispatcher into the app."""
    services = make_services(settings)
    services.queue = jobs = dispatcher or make_dispatcher(settings, services)
    app = FastAPI(
        title="Hourglass",
        version="1.0.0",
        description="Trains and hosts bottleneck autoencoders: embed, reconstruct, anomalies.",
        lifespan=make_lifespan(settings, services, jobs),
    )
    app.state.services = services
    routers = [module.router for module in (health, datasets, runs, registry, inference)]
    for router in routers:
        app.include_router(router)
    problems.install(app, routers)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The uvicorn factory used by `hourglass serve`: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
