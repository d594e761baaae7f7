"""Prometheus metrics: request counts and latencies per route, inference rows, runs, cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "hourglass_requests", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "hourglass_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)
INFERENCE_ROWS = Counter(
    "hourglass_inference_rows", "Rows answered by inference", ["endpoint"], registry=REGISTRY
)


class StateCollector:
    """Runs by status, epochs recorded and cache hits, read when scraped."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            state = self._read()
        except Exception:  # a scrape must not fail because the database is down
            return
        runs = GaugeMetricFamily("hourglass_runs", "Runs by status", labels=["status"])
        for status, count in state["runs"].items():
            runs.add_metric([status], count)
        yield runs
        yield GaugeMetricFamily(
            "hourglass_training_epochs", "Epochs recorded", value=state["epochs"]
        )
        cache = GaugeMetricFamily("hourglass_model_cache", "Model cache lookups", labels=["result"])
        cache.add_metric(["hit"], state["cache_hits"])
        cache.add_metric(["miss"], state["cache_misses"])
        yield cache


class MetricsMiddleware:
    """Counts and times every request by its route template (not its raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status[0])).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
