"""Health, readiness and metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from service.api.deps import Services, get_services
from service.api.metrics import REGISTRY, StateCollector
from service.domain.health import check_ready
from service.domain.runs import run_stats

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: Services = Depends(get_services)) -> dict[str, str]:
    """200 when the database answers and is at the newest migration, else 503."""
    await run_in_threadpool(check_ready, services.engine, services.queue.health())
    return {"status": "ready"}


def _state(services: Services) -> dict[str, object]:
    with services.factory() as session:
        stats = run_stats(session)
    detectors = services.lookup.detectors
    return stats | {"cache_hits": detectors.hits, "cache_misses": detectors.misses}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(services: Services = Depends(get_services)) -> Response:
    """Prometheus text format."""
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(lambda: _state(services)))
    return Response(
        generate_latest(REGISTRY) + generate_latest(state), media_type=CONTENT_TYPE_LATEST
    )
