"""The synchronous client: one method per route, numpy arrays in and out, problem documents as
exceptions, retries with backoff for idempotent calls."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
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
from hourglass_client.errors import ConnectionFailed, error_from
from hourglass_client.events import Ended, Event, Restarted, parse, resume_headers
from hourglass_client.progress import EpochBar

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
STREAM_TIMEOUT = httpx.Timeout(30.0, read=60.0)  # the server sends a keep-alive every 10 s


def settings(url: str | None, key: str | None) -> tuple[str, dict[str, str]]:
    """The base URL and headers: arguments, else HOURGLASS_URL / HOURGLASS_API_KEY."""
    url = url or os.environ.get("HOURGLASS_URL") or DEFAULT_URL
    key = key or os.environ.get("HOURGLASS_API_KEY")
    return url.rstrip("/"), ({"Authorization": f"Bearer {key}"} if key else {})


class Client:
    """`Client(url, key=…)`; `url` and `key` default to HOURGLASS_URL and HOURGLASS_API_KEY."""

    def __init__(
        self,
        url: str | None = None,
        *,
        key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base, headers = settings(url, key)
        self.retries, self.backoff = retries, backoff
        self._http = httpx.Client(
            base_url=base, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _do(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(**call.request())
            except httpx.TransportError as exc:
                wait = call.pause(attempt, self.retries, self.backoff)
                if wait is None:
                    raise ConnectionFailed(f"{call.method} {call.path}: {exc}") from exc
            else:
                wait = call.pause(attempt, self.retries, self.backoff, response)
                if wait is None:
                    return call.answer(response)
            time.sleep(wait)
            attempt += 1

    # -- health and datasets -----------------------------------------------------------------

    def ready(self) -> dict[str, Any]:
        """`/readyz`: the database answers and its schema is current."""
        return self._do(calls.ready())

    def upload_dataset(
        self, data: Any, *, name: str | None = None, columns: list[str] | None = None
    ) -> Dataset:
        """Store a dataset: a .csv/.npy/.parquet path, a DataFrame, or an array (with optional
        column names)."""
        return self._do(calls.upload_dataset(data, name=name, columns=columns))

    def get_dataset(self, dataset_id: int) -> Dataset:
        return self._do(calls.get_dataset(dataset_id))

    # -- runs --------------------------------------------------------------------------------

    def create_run(
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
        """Queue a training run. A fresh Idempotency-Key is sent unless one is given (None: none),
        so a retried request never trains twice."""
        sections = {
            "architecture": architecture,
            "preprocessing": preprocessing,
            "training": training,
            "calibration": calibration,
        }
        return self._do(calls.create_run(dataset_id, model_name, config, sections, idempotency_key))

    def get_run(self, run_id: int) -> Run:
        return self._do(calls.get_run(run_id))

    def list_runs(
        self,
        *,
        status: str | None = None,
        model_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        return self._do(calls.list_runs(status, model_name, limit, offset))

    def epochs(self, run_id: int) -> list[Epoch]:
        return self._do(calls.epochs(run_id))

    def cancel_run(self, run_id: int) -> Run:
        return self._do(calls.cancel_run(run_id))

    def delete_run(self, run_id: int) -> None:
        self._do(calls.delete_run(run_id))

    def watch(self, run_id: int, *, after: int = 0) -> Iterator[Event]:
        """The run's epochs as they are recorded (then `Ended`), reconnecting with Last-Event-ID
        when the stream drops: none is missed or repeated."""
        failures = 0
        while True:
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/runs/{run_id}/epochs/stream",
                    headers=resume_headers(after),
                    timeout=STREAM_TIMEOUT,
                ) as response:
                    if response.is_error:
                        response.read()
                        raise error_from(response)
                    for event in parse(response.iter_lines()):
                        failures = 0
                        after = event.epoch if isinstance(event, Epoch) else 0
                        yield event
                        if isinstance(event, Ended):
                            return
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.retries:
                    raise ConnectionFailed(f"epoch stream of run {run_id}: {exc}") from exc
                time.sleep(retry_delay(failures - 1, self.backoff))

    def wait(self, run_id: int, *, progress: bool = False) -> Run:
        """Follow the run to its end (with a progress bar if asked) and return it."""
        run = self.get_run(run_id)
        with EpochBar(run.progress["epochs"], f"run {run_id}", enabled=progress) as bar:
            for event in self.watch(run_id):
                if isinstance(event, Epoch):
                    bar.update(event.epoch, event.train_loss, event.val_loss)
                elif isinstance(event, Restarted):
                    bar.restart()
        return self.get_run(run_id)

    # -- the registry ------------------------------------------------------------------------

    def list_models(self) -> list[ModelSummary]:
        return self._do(calls.list_models())

    def get_model(self, name: str) -> ModelDetail:
        return self._do(calls.get_model(name))

    def set_alias(self, name: str, alias: str, version: int) -> ModelSummary:
        return self._do(calls.set_alias(name, alias, version))

    def delete_version(self, name: str, version: int) -> None:
        self._do(calls.delete_version(name, version))

    def delete_model(self, name: str) -> None:
        self._do(calls.delete_model(name))

    def layers(self, ref: str) -> list[Layer]:
        return self._do(calls.layers(ref))

    def projection(
        self, ref: str, *, n: int | None = None, alpha: float | None = None
    ) -> Projection:
        return self._do(calls.projection(ref, n, alpha))

    def calibrate(
        self, ref: str, rows: Any = None, *, dataset_id: int | None = None
    ) -> dict[str, Any]:
        """A new version of `ref`'s model calibrated on normal rows (or a stored dataset)."""
        return self._do(calls.calibrate(ref, rows, dataset_id))

    # -- inference ---------------------------------------------------------------------------

    def embed(self, ref: str, rows: Any, *, layer: int | None = None) -> np.ndarray:
        """Each row's code (or hidden layer `layer`), as an (n, width) array."""
        return self._do(calls.embed(ref, rows, layer))

    def reconstruct(self, ref: str, rows: Any) -> Reconstruction:
        return self._do(calls.reconstruct(ref, rows))

    def anomalies(
        self, ref: str, rows: Any, *, alpha: float | None = None, explain: int | None = None
    ) -> Anomalies:
        """Scores, p-values and flags (numpy arrays), with the top-`explain` features per row."""
        return self._do(calls.anomalies(ref, rows, alpha, explain))
