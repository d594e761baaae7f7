"""Each route of the service as a request and the parser of its answer, written once for the
sync and the async client. `idempotent` calls are retried on 503 and connection errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import numpy as np

from hourglass_client import answers
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
from hourglass_client.bodies import NPY, as_rows, from_npy, rows_body, to_npy, upload_body
from hourglass_client.errors import error_from

T = TypeVar("T")
UNSET: Any = object()  # create_run's Idempotency-Key: a fresh one unless given (None: none)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True

    def request(self) -> dict[str, Any]:
        """The keyword arguments of httpx's `request`."""
        return {
            "method": self.method,
            "url": self.path,
            "params": self.params,
            "json": self.json,
            "content": self.content,
            "headers": self.headers,
        }

    def answer(self, response: httpx.Response) -> T:
        """The parsed answer, or the problem document's exception."""
        if response.is_error:
            raise error_from(response)
        return self.parse(response)

    def pause(
        self, attempt: int, retries: int, backoff: float, response: httpx.Response | None = None
    ) -> float | None:
        """Seconds to wait before trying again after `attempt` (a connection error when there
        is no `response`), or None when this is the outcome."""
        if not self.idempotent or attempt >= retries:
            return None
        if response is not None and response.status_code != 503:
            return None
        return retry_delay(attempt, backoff, response)


def _json(response: httpx.Response) -> Any:
    return response.json()


def _nothing(_response: httpx.Response) -> None:
    return None


def _query(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _rows(
    path: str,
    rows: Any,
    params: dict[str, Any],
    parse: Callable[[httpx.Response], T],
    accept: str = "application/json",
) -> Call[T]:
    body, kind = rows_body(rows)
    headers = {"Content-Type": kind, "Accept": accept}
    return Call("POST", path, parse, params=params, content=body, headers=headers)


def ready() -> Call[dict[str, Any]]:
    return Call("GET", "/readyz", _json)


def upload_dataset(data: Any, *, name: str | None, columns: list[str] | None) -> Call[Dataset]:
    body, kind = upload_body(data, columns=columns)
    if name is None and isinstance(data, str | Path):
        name = Path(data).stem
    return Call(
        "POST",
        "/v1/datasets",
        lambda r: answers.from_json(Dataset, r.json()),
        params=_query(name=name),
        content=body,
        headers={"Content-Type": kind},
        idempotent=False,  # a retry would store the rows twice
    )


def get_dataset(dataset_id: int) -> Call[Dataset]:
    return Call("GET", f"/v1/datasets/{dataset_id}", lambda r: answers.from_json(Dataset, r.json()))


def create_run(
    dataset_id: int,
    model_name: str,
    config: dict[str, Any] | None,
    sections: dict[str, Any],
    idempotency_key: str | None,
) -> Call[Run]:
    """`config` with the sections given as keywords laid over it; a fresh Idempotency-Key
    unless one is given (None: none)."""
    key = str(uuid.uuid4()) if idempotency_key is UNSET else idempotency_key
    given = {name: value for name, value in sections.items() if value is not None}
    body = {"dataset_id": dataset_id, "model_name": model_name, **(config or {}), **given}
    return Call(
        "POST",
        "/v1/runs",
        lambda r: answers.run_from(r.json()),
        json=body,
        headers={} if key is None else {"Idempotency-Key": key},
        idempotent=key is not None,  # with a key a retry gets the same run
    )


def get_run(run_id: int) -> Call[Run]:
    return Call("GET", f"/v1/runs/{run_id}", lambda r: answers.run_from(r.json()))


def list_runs(status: str | None, model_name: str | None, limit: int, offset: int) -> Call[RunPage]:
    def parse(response: httpx.Response) -> RunPage:
        document = response.json()
        return RunPage([answers.run_from(i) for i in document["items"]], document["total"])

    params = _query(status=status, model_name=model_name, limit=limit, offset=offset)
    return Call("GET", "/v1/runs", parse, params=params)


def epochs(run_id: int) -> Call[list[Epoch]]:
    return Call(
        "GET",
        f"/v1/runs/{run_id}/epochs",
        lambda r: [answers.from_json(Epoch, e) for e in r.json()["items"]],
    )


def cancel_run(run_id: int) -> Call[Run]:
    return Call("POST", f"/v1/runs/{run_id}/cancel", lambda r: answers.run_from(r.json()))


def delete_run(run_id: int) -> Call[None]:
    return Call("DELETE", f"/v1/runs/{run_id}", _nothing)


def list_models() -> Call[list[ModelSummary]]:
    return Call(
        "GET",
        "/v1/models",
        lambda r: [answers.from_json(ModelSummary, m) for m in r.json()["items"]],
    )


def get_model(name: str) -> Call[ModelDetail]:
    return Call("GET", f"/v1/models/{name}", lambda r: answers.model_from(r.json()))


def set_alias(name: str, alias: str, version: int) -> Call[ModelSummary]:
    return Call(
        "PUT",
        f"/v1/models/{name}/aliases/{alias}",
        lambda r: answers.from_json(ModelSummary, r.json()),
        json={"version": version},
    )


def delete_version(name: str, version: int) -> Call[None]:
    return Call("DELETE", f"/v1/models/{name}/versions/{version}", _nothing)


def delete_model(name: str) -> Call[None]:
    return Call("DELETE", f"/v1/models/{name}", _nothing)


def layers(ref: str) -> Call[list[Layer]]:
    return Call(
        "GET", f"/v1/models/{ref}/layers", lambda r: [answers.from_json(Layer, x) for x in r.json()]
    )


def projection(ref: str, n: int | None, alpha: float | None) -> Call[Projection]:
    return Call(
        "GET",
        f"/v1/models/{ref}/projection",
        lambda r: answers.with_arrays(Projection, r.json()),
        params=_query(n=n, alpha=alpha),
    )


def embed(ref: str, rows: Any, layer: int | None) -> Call[np.ndarray]:
    return _rows(
        f"/v1/models/{ref}/embed", rows, _query(layer=layer), lambda r: from_npy(r.content), NPY
    )


def reconstruct(ref: str, rows: Any) -> Call[Reconstruction]:
    return _rows(
        f"/v1/models/{ref}/reconstruct",
        rows,
        {},
        lambda r: answers.with_arrays(Reconstruction, r.json()),
    )


def anomalies(ref: str, rows: Any, alpha: float | None, explain: int | None) -> Call[Anomalies]:
    return _rows(
        f"/v1/models/{ref}/anomalies",
        rows,
        _query(alpha=alpha, explain=explain),
        lambda r: answers.with_arrays(Anomalies, r.json()),
    )


def calibrate(ref: str, rows: Any = None, dataset_id: int | None = None) -> Call[dict[str, Any]]:
    if (rows is None) == (dataset_id is None):
        raise ValueError("give exactly one of rows, dataset_id")
    path = f"/v1/models/{ref}/calibrate"
    if rows is None:
        return Call("POST", path, _json, json={"dataset_id": dataset_id}, idempotent=False)
    headers = {"Content-Type": NPY}  # the calibrate route reads JSON or .npy
    return Call(
        "POST", path, _json, content=to_npy(as_rows(rows)), headers=headers, idempotent=False
    )


def retry_delay(attempt: int, backoff: float, response: httpx.Response | None = None) -> float:
    """Seconds before retry `attempt` (0-based): the answer's Retry-After, else exponential."""
    after = response.headers.get("retry-after", "") if response is not None else ""
    if after.isdigit():
        return min(float(after), 30.0)
    return float(backoff * 2**attempt)
