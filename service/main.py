"""create_app(settings): the FastAPI app, its lifespan, routers, middleware and error handlers."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from models import __version__
from service.api import (
    datasets,
    docs,
    health,
    hidden,
    inference,
    problems,
    registry,
    runs,
    sweeps,
    v2,
)
from service.api.limits import BodyLimitMiddleware
from service.api.metrics import MetricsMiddleware
from service.api.openapi import build_openapi
from service.config import Settings, is_loopback
from service.domain.feeds import EpochFeed
from service.domain.keys import KeyCache
from service.domain.lookup import DetectorCache, GenerationWatch, Lookup
from service.domain.queue import JobQueue, NoQueue
from service.domain.runs import RunLimits, TrainingHost
from service.domain.services import Services
from service.domain.startup import prepare_to_serve
from service.jobs.embedded import EmbeddedQueue
from service.jobs.leader import LeaderQueue, lock_path
from service.jobs.spec import TrainerSpec
from service.jobs.worker import ProcrastinateQueue
from service.logs import configure_logging
from service.store import generations
from service.store.db import make_engine, make_session_factory
from service.ui import deps as ui_deps
from service.ui import login as ui_login
from service.ui import models as ui_models
from service.ui import runs as ui_runs
from service.ui import versions as ui_versions

logger = logging.getLogger(__name__)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# The server's own training processes yield the CPU to its requests: training never starves
# inference (README "Deploy"; the fault suite measures single-row latency while training).
SERVER_TRAINING_NICE = 10


def make_queue(settings: Settings, services: Services) -> JobQueue:
    """PostgreSQL: procrastinate jobs (plus HOURGLASS_EMBEDDED_WORKERS worker processes of the
    server's own). SQLite: the embedded executor, or none when HOURGLASS_EMBEDDED_WORKERS=0.
    Of the serving processes on one machine and database, one runs the jobs (LeaderQueue)."""
    spec = TrainerSpec.from_settings(settings, serving=True, nice=SERVER_TRAINING_NICE)
    if settings.embedded_workers == 0:
        return ProcrastinateQueue(spec) if _is_postgres(services.engine) else NoQueue()
    queue: JobQueue
    if _is_postgres(services.engine):
        queue = ProcrastinateQueue(spec, processes=settings.embedded_workers)
    else:
        queue = EmbeddedQueue(
            services.factory,
            spec,
            workers=settings.embedded_workers,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            # another serving process may have enqueued the run: the leader's poll is its wake
            poll_seconds=1.0 if settings.serve_workers == 1 else 0.25,
        )
    if services.engine.url.database in (None, "", ":memory:"):
        return queue  # an in-memory database belongs to this process alone
    return LeaderQueue(queue, lock_path(settings.database_url))


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def training_host(settings: Settings, engine: Engine) -> TrainingHost | None:
    """This machine, when the server trains every run itself (SQLite, the embedded executor):
    runs it cannot train are then refused at submit. On PostgreSQL workers anywhere may train,
    and each checks for itself."""
    if engine.dialect.name != "sqlite" or settings.embedded_workers == 0:
        return None
    return TrainingHost(
        cuda=torch.cuda.is_available(),
        gpus=torch.cuda.device_count(),
        cores=os.cpu_count() or 1,
    )


def make_services(settings: Settings) -> Services:
    """Engine, sessions and the caches; the job queue is attached by create_app."""
    engine = make_engine(settings.database_url, answer_seconds=settings.database_timeout)
    factory = make_session_factory(engine)
    return Services(
        engine=engine,
        factory=factory,
        lookup=Lookup(factory, DetectorCache(settings.model_cache_size)),
        keys=KeyCache(factory),
        queue=NoQueue(),
        feed=EpochFeed(factory),
        max_rows=settings.max_rows,
        run_limits=RunLimits(settings.max_parameters, training_host(settings, engine)),
        max_body_bytes=settings.max_body_bytes,
        open_without_keys=is_loopback(settings.host),
    )


def make_lifespan(settings: Settings, services: Services, jobs: JobQueue) -> Lifespan:
    """Start-up checks, thread budget and the job queue; the reverse on shutdown."""

    watch = GenerationWatch(
        services.engine,
        {generations.REGISTRY: services.lookup.clear, generations.KEYS: services.keys.clear},
    )
    watch.attach(services.factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(
            prepare_to_serve,
            services.engine,
            services.factory,
            api_keys=settings.api_keys,
            host=settings.host,
        )
        torch.set_num_threads(settings.inference_threads)
        await run_in_threadpool(watch.check)  # the counters as they are now
        watch.start()
        services.feed.start()
        jobs.start()
        gc.freeze()  # start-up objects never need collecting; cuts p99 (DESIGN.md)
        logger.info("serving", extra={"action": "start", "host": settings.host})
        try:
            yield
        finally:
            watch.stop()
            services.feed.stop()
            jobs.stop()
            services.engine.dispose()
            logger.info("stopped", extra={"action": "stop"})

    return lifespan


def operation_id(route: APIRoute) -> str:
    """Readable operationIds for generated clients: the route function's name in camelCase."""
    first, *rest = route.name.split("_")
    return first + "".join(word.title() for word in rest)


def create_app(settings: Settings, *, queue: JobQueue | None = None) -> FastAPI:
    """Compose engine, sessions, cache and job queue into the app."""
    services = make_services(settings)
    services.queue = jobs = queue or make_queue(settings, services)
    app = FastAPI(
        docs_url=None,  # /docs and /redoc come from service/api/docs.py, with vendored assets
        redoc_url=None,
        generate_unique_id_function=operation_id,
        title="Hourglass",
        version=__version__,
        description="Trains and hosts bottleneck autoencoders: embed, reconstruct, anomalies.",
        lifespan=make_lifespan(settings, services, jobs),
    )
    app.state.services = services
    # Inference first: the router tries routes in order, and these are the hot ones.
    routers = [inference.router, v2.models, v2.router] + [
        module.router for module in (health, datasets, runs, sweeps, registry, hidden)
    ]
    pages = [ui_runs.router, ui_models.router, ui_versions.router, ui_login.router]
    for router in [*routers, docs.router, *pages]:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=docs.STATIC), name="static")
    app.mount(f"{ui_deps.PREFIX}/static", StaticFiles(directory=ui_deps.STATIC), name="ui-static")
    problems.install(app, routers, problems.ErrorPages(ui_deps.PREFIX, ui_deps.error_page))
    app.add_middleware(ui_deps.SecurityHeaders)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The uvicorn factory used by `hourglass serve`: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
