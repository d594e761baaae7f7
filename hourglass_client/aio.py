"""The asynchronous client: the same calls as `Client`, awaited (httpx.AsyncClient)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
import numpy as np

from hourglass_client import calls
from hourglass_client.answers import (
    Anomalies,
    Dataset,
    Epoch,
    Layer,
    ModelDetail,
    ModelSummary,
    Projection,
    Reconstruction,
    Run,
    RunPage,
)
from hourglass_client.calls import UNSET, Call, retry_delay
from hourglass_client.client import STREAM_TIMEOUT, settings
from hourglass_client.errors import ConnectionFailed, error_from
from hourglass_client.events import Ended, Event, Reader, resume_headers

T = TypeVar("T")


class AsyncClient:
    """`async with AsyncClient(url, key=…) as client: await client.embed(…)`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base, headers = settings(url, key)
        self.retries, self.backoff = retries, backoff
        self._http = httpx.AsyncClient(
            base_url=base, headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _do(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(**call.request())
            except httpx.TransportError as exc:
                wait = call.pause(attempt, self.retries, self.backoff)
                if wait is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {exc}") from exc
            else:
                wait = call.pause(attempt, self.retries, self.backoff, response)
                if wait is None:
                    return call.answer(response)
            await asyncio.sleep(wait)
            attempt += 1

    async def ready(self) -> dict[str, Any]:
        return await self._do(calls.ready())

    async def upload_dataset(
        self, data: Any, *, name: str | None = None, columns: list[str] | None = None
    ) -> Dataset:
        return await self._do(calls.upload_dataset(data, name=name, columns=columns))

    async def get_dataset(self, dataset_id: int) -> Dataset:
        return await self._do(calls.get_dataset(dataset_id))

    async def create_run(
        self,
        dataset_id: int,
        model_name: str,
        *,
        config: dict[str, Any] | None = None,
        architecture: dict[str, Any] | None = None,
        preprocessing: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
        calibration: dict[str, Any] | None = None,
        idempotency_key: str | None = UNSET,
    ) -> Run:
        sections = {
            "architecture": architecture,
            "preprocessing": preprocessing,
            "training": training,
            "calibration": calibration,
        }
        return await self._do(
            calls.create_run(dataset_id, model_name, config, sections, idempotency_key)
        )

    async def get_run(self, run_id: int) -> Run:
        return await self._do(calls.get_run(run_id))

    async def list_runs(
        self,
        *,
        status: str | None = None,
        model_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        return await self._do(calls.list_runs(status, model_name, limit, offset))

    async def epochs(self, run_id: int) -> list[Epoch]:
        return await self._do(calls.epochs(run_id))

    async def cancel_run(self, run_id: int) -> Run:
        return await self._do(calls.cancel_run(run_id))

    async def delete_run(self, run_id: int) -> None:
        await self._do(calls.delete_run(run_id))

    async def watch(self, run_id: int, *, after: int = 0) -> AsyncIterator[Event]:
        """The run's epochs as they are recorded (then `Ended`), resuming after a drop."""
        failures = 0
        while True:
            try:
                async with self._http.stream(
                    "GET",
                    f"/v1/runs/{run_id}/epochs/stream",
                    headers=resume_headers(after),
                    timeout=STREAM_TIMEOUT,
                ) as response:
                    if response.is_error:
                        await response.aread()
                        raise error_from(response)
                    reader = Reader()
                    async for line in response.aiter_lines():
                        event = reader.feed(line)
                        if event is None:
                            continue
                        failures = 0
                        after = event.epoch if isinstance(event, Epoch) else 0
                        yield event
                        if isinstance(event, Ended):
                            return
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.retries:
                    raise ConnectionFailed(f"epoch stream of run {run_id}: {exc}") from exc
                await asyncio.sleep(retry_delay(failures - 1, self.backoff))

    async def wait(self, run_id: int) -> Run:
        """Follow the run to its end and return it."""
        async for _event in self.watch(run_id):
            pass
        return await self.get_run(run_id)

    async def list_models(self) -> list[ModelSummary]:
        return await self._do(calls.list_models())

    async def get_model(self, name: str) -> ModelDetail:
        return await self._do(calls.get_model(name))

    async def set_alias(self, name: str, alias: str, version: int) -> ModelSummary:
        return await self._do(calls.set_alias(name, alias, version))

    async def delete_version(self, name: str, version: int) -> None:
        await self._do(calls.delete_version(name, version))

    async def delete_model(self, name: str) -> None:
        await self._do(calls.delete_model(name))

    async def layers(self, ref: str) -> list[Layer]:
        return await self._do(calls.layers(ref))

    async def projection(
        self, ref: str, *, n: int | None = None, alpha: float | None = None
    ) -> Projection:
        return await self._do(calls.projection(ref, n, alpha))

    async def calibrate(
        self, ref: str, rows: Any = None, *, dataset_id: int | None = None
    ) -> dict[str, Any]:
        return await self._do(calls.calibrate(ref, rows, dataset_id))

    async def embed(self, ref: str, rows: Any, *, layer: int | None = None) -> np.ndarray:
        return await self._do(calls.embed(ref, rows, layer))

    async def reconstruct(self, ref: str, rows: Any) -> Reconstruction:
        return await self._do(calls.reconstruct(ref, rows))

    async def anomalies(
        self, ref: str, rows: Any, *, alpha: float | None = None, explain: int | None = None
    ) -> Anomalies:
        return await self._do(calls.anomalies(ref, rows, alpha, explain))
