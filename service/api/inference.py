"""Routes for inference: embed, reconstruct, anomalies (JSON, `.npy` or Arrow IPC in and out).

The hot path: the key and the `{ref}` are answered from in-process caches (no database session
for a model seen before), and a small request is answered on the event loop itself; a larger one
(over INLINE_BYTES of body) is parsed and computed in the thread pool. DESIGN.md "Serving"
measured the thread-pool hand-off at ~45 ms p99 for single rows.

A binary answer keeps every field of the JSON answer. Arrow IPC: one column per JSON array, the
scalars in the schema metadata. `.npy`: the arrays as one (structured, when there are several per
row) array. Both put the scalars in `X-Hourglass-*` headers. What a `.npy` answer cannot carry
(explanations) is refused with 406 rather than dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service.api.bodies import (
    JSON,
    NPY,
    answer_type,
    is_arrow,
    is_npy,
    parse_json_object,
    request_body,
    validate_options,
)
from service.api.deps import INFER, Services, get_services
from service.api.metrics import INFERENCE_ROWS
from service.api.schemas.common import ModelRef
from service.api.schemas.inference import (
    ROW_FIELDS,
    AnomaliesOptions,
    AnomaliesRequest,
    AnomaliesResponse,
    EmbedOptions,
    EmbedRequest,
    EmbedResponse,
    ReconstructOptions,
    ReconstructRequest,
    ReconstructResponse,
)
from service.domain import inference
from service.domain.arrays import FloatArray, array_to_npy, npy_to_array
from service.domain.arrowipc import ARROW, answer_to_arrow
from service.domain.lookup import Target
from service.errors import BadInput, BadRows, NotAcceptable

router = APIRouter(prefix="/v1/models", tags=["inference"], dependencies=[INFER])
_BINARY = {"schema": {"type": "string", "format": "binary"}}
BINARY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {NPY: _BINARY, ARROW: _BINARY}}
}
OptionsT = TypeVar("OptionsT", bound=BaseModel)
Route = Callable[["Call"], Awaitable[Response]]
INLINE_BYTES = 4 << 20  # bodies up to this (~25,000 .npy rows of 21 values) stay on the loop


@dataclass(frozen=True)
class Call:
    """One inference request: the model reference, the HTTP request and its body."""

    ref: str
    request: Request
    body: bytes
    services: Services

    def rows(self, target: Target, options: type[OptionsT]) -> tuple[FloatArray, OptionsT]:
        """The request's rows in the target's column order, and the options."""
        rows, found = _read(self.request, self.body, options)
        return inference.rows_for(target, rows, max_rows=self.services.max_rows), found


async def inference_call(
    ref: ModelRef, request: Request, services: Services = Depends(get_services)
) -> Call:
    """The request's parts; the body is read once (the size cap is enforced by middleware)."""
    return Call(ref, request, await request.body(), services)


CallDep = Depends(inference_call)


async def serve(call: Call, work: Callable[[Call, Target], Response]) -> Response:
    """Answer with `work`: on the loop for a model in memory and a small body, else off it."""
    target = call.services.lookup.cached(call.ref)
    if target is None:
        target = await run_in_threadpool(call.services.lookup.load, call.ref)
    if len(call.body) <= INLINE_BYTES:
        return work(call, target)
    return await run_in_threadpool(work, call, target)


def _read(
    request: Request, body: bytes, options: type[OptionsT]
) -> tuple[inference.Rows, OptionsT]:
    """The rows and the validated options (from the JSON body, else the query string)."""
    if is_npy(request):
        return inference.Rows(array=npy_to_array(body)), validate_options(
            options, {}, request.query_params
        )
    if is_arrow(request):
        return inference.Rows(arrow=body), validate_options(options, {}, request.query_params)
    document = parse_json_object(body)
    if sum(field in document for field in ROW_FIELDS) != 1:
        raise BadInput(errors=[{"loc": ["body"], "msg": "send exactly one of instances, records"}])
    rest = {k: v for k, v in document.items() if k not in ROW_FIELDS}
    found = validate_options(options, rest, request.query_params)
    # `true` has a `u` and `false` an `f`; no JSON number and none of our field names has either,
    # so two memchr passes (microseconds) spare almost every body the Python scan for booleans.
    booleans = b"u" in body or b"f" in body
    # Every key is one string of two quotes: any more quotes, and a row may hold a string.
    strings = _more_quotes_than(body, 2 * len(document))
    rows = inference.Rows(
        instances=document.get("instances"),
        records=document.get("records"),
        may_hold_booleans=booleans,
        may_hold_strings=strings,
    )
    return rows, found


def _more_quotes_than(body: bytes, limit: int) -> bool:
    """Whether `body` holds more than `limit` double quotes: one memchr per quote (a few for a
    body of numbers), not a count over every byte (0.6 ms for 1,000 rows of 21 values)."""
    at = -1
    for _ in range(limit + 1):
        at = body.find(b'"', at + 1)
        if at < 0:
            return False
    return True


def _finite(name: str, values: np.ndarray[Any, Any]) -> None:
    finite = np.isfinite(values)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    if len(bad):
        row = int(bad[0][0])
        msg = f"row {row}: the model's {name} overflowed; the row is far outside the training data"
        raise BadRows(msg, errors=[{"loc": ["body", row], "msg": msg}])


@dataclass(frozen=True)
class Answer:
    """An answer in every format: per-row arrays under their JSON names, scalars, and the `.npy`
    form (None when a `.npy` array cannot carry the answer)."""

    columns: dict[str, Any]
    scalars: dict[str, Any]
    npy: np.ndarray[Any, Any] | None
    cannot_npy: str = ""  # why not, for the 406


def _respond(call: Call, target: Target, answer: Answer) -> Response:
    kind = answer_type(call.request)
    headers = _headers(target)
    if kind == JSON:
        body = {"model": target.model, "version": target.version, **answer.scalars}
        body.update(answer.columns)
        dumped = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        return Response(dumped, headers=headers, media_type=JSON)
    headers |= {
        f"X-Hourglass-{k.replace('_', '-').title()}": _header(v) for k, v in answer.scalars.items()
    }
    if kind == ARROW:
        scalars = {"model": target.model, "version": target.version, **answer.scalars}
        return Response(answer_to_arrow(answer.columns, scalars), headers=headers, media_type=ARROW)
    if answer.npy is None:
        raise NotAcceptable(answer.cannot_npy)
    return Response(array_to_npy(answer.npy), media_type=NPY, headers=headers)


def _header(value: object) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


def _headers(target: Target) -> dict[str, str]:
    return {"X-Hourglass-Model": target.model, "X-Hourglass-Version": str(target.version)}


def _count(endpoint: str, rows: int) -> None:
    INFERENCE_ROWS.labels(endpoint=endpoint).inc(rows)


def _records(**columns: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A structured array with one field per named column (a column may be 2-D)."""
    n = len(next(iter(columns.values())))
    dtype = [(name, c.dtype, c.shape[1:]) for name, c in columns.items()]
    out = np.empty(n, dtype=dtype)
    for name, column in columns.items():
        out[name] = column
    return out


def _route(
    name: str, answer: type[BaseModel], body: type[BaseModel], options: type[BaseModel]
) -> Callable[[Route], Route]:
    """`POST /v1/models/{ref}/<name>`: a JSON, `.npy` or Arrow body of rows, options, and an
    answer in the same three formats."""
    return router.post(
        f"/{{ref}}/{name}",
        response_model=answer,
        responses=BINARY_RESPONSES,
        openapi_extra=request_body(body, binary=(NPY, ARROW), query=options),
    )


@_route("embed", EmbedResponse, EmbedRequest, EmbedOptions)
async def embed_rows(call: Call = CallDep) -> Response:
    """Hidden-layer activations (the code by default) for each row."""
    return await serve(call, _embed)


def _embed(call: Call, target: Target) -> Response:
    x, options = call.rows(target, EmbedOptions)
    codes = inference.embed(target, x, layer=options.layer)
    _finite("embedding", codes)
    _count("embed", len(codes))
    return _respond(call, target, Answer({"embeddings": codes}, {}, codes))


@_route("reconstruct", ReconstructResponse, ReconstructRequest, ReconstructOptions)
async def reconstruct_rows(call: Call = CallDep) -> Response:
    """Each row rebuilt by the model (original units) and its reconstruction error."""
    return await serve(call, _reconstruct)


def _reconstruct(call: Call, target: Target) -> Response:
    x, _ = call.rows(target, ReconstructOptions)
    rebuilt, errors = inference.reconstruct(target, x)
    _finite("reconstruction", rebuilt)
    _finite("error", errors)
    _count("reconstruct", len(errors))
    columns = {"reconstructions": rebuilt, "errors": errors}
    npy = _records(reconstruction=rebuilt, error=errors)
    return _respond(call, target, Answer(columns, {}, npy))


@_route("anomalies", AnomaliesResponse, AnomaliesRequest, AnomaliesOptions)
async def find_anomalies(call: Call = CallDep) -> Response:
    """Anomaly scores, conformal p-values, flags (and which rule flagged), explanations."""
    return await serve(call, _anomalies)


def _anomalies(call: Call, target: Target) -> Response:
    x, options = call.rows(target, AnomaliesOptions)
    if options.explain and answer_type(call.request) == NPY:  # refused before any work
        raise NotAcceptable(_NO_NPY_EXPLANATIONS)
    found = inference.anomalies(target, x, alpha=options.alpha, explain=options.explain)
    _finite("score", found.scores)
    _count("anomalies", len(found.scores))
    threshold = float(found.threshold) if np.isfinite(found.threshold) else None
    scalars = {
        "rule": found.rule,
        "alpha": found.alpha,
        "threshold": threshold,
        "warnings": found.warnings,
    }
    columns: dict[str, Any] = {
        "scores": found.scores,
        "p_values": found.p_values,
        "is_anomaly": found.is_anomaly,
    }
    if found.explanations is not None:
        columns["explanations"] = found.explanations
    npy = _records(score=found.scores, p_value=found.p_values, is_anomaly=found.is_anomaly)
    return _respond(call, target, Answer(columns, scalars, npy))


_NO_NPY_EXPLANATIONS = (
    f"a .npy answer cannot carry explanations: ask for application/json or {ARROW}, or drop explain"
)
