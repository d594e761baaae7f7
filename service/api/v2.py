"""KServe V2 / Open Inference Protocol: health, server and model metadata, readiness, infer.

`/v2/models/{name}` answers as `/v1/models/{name}` does (the production alias, else the newest
version); `/v2/models/{name}/versions/{version}` takes a version number or an alias. One input
tensor, FP32 or FP64, shape [rows, columns] in the model's column order; outputs `embeddings`,
`reconstructions`, `scores`, `p_values`, `is_anomaly` (all of them unless `outputs` names some).
Errors are `{"error": "..."}` documents, as the protocol and its clients expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from models import __version__
from service.api.bodies import request_body
from service.api.deps import INFER, Services, get_services
from service.api.metrics import INFERENCE_ROWS
from service.api.schemas.common import ModelName, VersionRef
from service.api.schemas.v2 import (
    OUTPUTS,
    InferRequest,
    InferResponse,
    Live,
    ModelMetadata,
    ModelReady,
    Ready,
    ServerMetadata,
    TensorMetadata,
)
from service.api.tensors import HEADER_LENGTH, Tensors, encode_response, parse_request
from service.domain import inference
from service.domain.health import check_ready
from service.domain.lookup import Target
from service.domain.registry import describe_model
from service.errors import BadRows, ModelNotFound
from service.store.db import transaction

router = APIRouter(prefix="/v2", tags=["kserve-v2"])
models = APIRouter(prefix="/v2/models", tags=["kserve-v2"], dependencies=[INFER])
INLINE_BYTES = 4 << 20  # as the v1 routes: small bodies are answered on the event loop


@router.get("", response_model=ServerMetadata, operation_id="serverMetadata")
def server_metadata() -> ServerMetadata:
    """The server's name, version and protocol extensions."""
    return ServerMetadata(name="hourglass", version=__version__, extensions=["binary_tensor_data"])


@router.get("/health/live", response_model=Live, operation_id="serverLive")
def live() -> Live:
    """200 while the process lives."""
    return Live(live=True)


@router.get("/health/ready", response_model=Ready, operation_id="serverReady")
async def ready(services: Services = Depends(get_services)) -> Ready:
    """200 when the database answers and is migrated (as /readyz), else 503."""
    await run_in_threadpool(check_ready, services.engine, services.queue.health())
    return Ready(ready=True)


async def _target(services: Services, ref: str) -> Target:
    found = services.lookup.cached(ref)
    return found if found is not None else await run_in_threadpool(services.lookup.load, ref)


def _ref(name: str, version: str | None) -> str:
    if "@" in name:
        raise ModelNotFound(f"model {name!r} not found")
    return name if version is None else f"{name}@{version}"


def _metadata(target: Target, versions: list[str]) -> ModelMetadata:
    d = len(target.columns)
    code = target.detector.config_.architecture.code_size or d
    return ModelMetadata(
        name=target.model,
        versions=versions,
        platform="hourglass",
        inputs=[TensorMetadata(name="input", datatype="FP32", shape=[-1, d])],
        outputs=[
            TensorMetadata(name="embeddings", datatype="FP32", shape=[-1, code]),
            TensorMetadata(name="reconstructions", datatype="FP32", shape=[-1, d]),
            TensorMetadata(name="scores", datatype="FP64", shape=[-1]),
            TensorMetadata(name="p_values", datatype="FP64", shape=[-1]),
            TensorMetadata(name="is_anomaly", datatype="BOOL", shape=[-1]),
        ],
    )


def _versions(services: Services, name: str) -> list[str]:
    with transaction(services.factory) as session:
        return [str(v.version) for v in describe_model(session, name).versions]


@models.get("/{name}", response_model=ModelMetadata, operation_id="modelMetadata")
async def model_metadata(
    name: ModelName, services: Services = Depends(get_services)
) -> ModelMetadata:
    """The model's versions and its input and output tensors."""
    target = await _target(services, _ref(name, None))
    return _metadata(target, await run_in_threadpool(_versions, services, name))


@models.get(
    "/{name}/versions/{version}", response_model=ModelMetadata, operation_id="versionMetadata"
)
async def version_metadata(
    name: ModelName, version: VersionRef, services: Services = Depends(get_services)
) -> ModelMetadata:
    """One version's input and output tensors."""
    target = await _target(services, _ref(name, version))
    return _metadata(target, [str(target.version)])


@models.get("/{name}/ready", response_model=ModelReady, operation_id="modelReady")
async def model_ready(name: ModelName, services: Services = Depends(get_services)) -> ModelReady:
    """200 when the model resolves and its Detector loads (404 when there is none)."""
    await _target(services, _ref(name, None))
    return ModelReady(name=name, ready=True)


@models.get(
    "/{name}/versions/{version}/ready", response_model=ModelReady, operation_id="versionReady"
)
async def version_ready(
    name: ModelName, version: VersionRef, services: Services = Depends(get_services)
) -> ModelReady:
    """200 when the version resolves and its Detector loads."""
    await _target(services, _ref(name, version))
    return ModelReady(name=name, ready=True)


_INFER = {
    "response_model": InferResponse,
    "openapi_extra": request_body(InferRequest, binary=("application/octet-stream",)),
}


@models.post("/{name}/infer", operation_id="modelInfer", **_INFER)
async def model_infer(
    name: ModelName, request: Request, services: Services = Depends(get_services)
) -> Response:
    """Embeddings, reconstructions, scores, p-values and flags of the input rows."""
    return await _infer(services, _ref(name, None), request)


@models.post("/{name}/versions/{version}/infer", operation_id="versionInfer", **_INFER)
async def version_infer(
    name: ModelName,
    version: VersionRef,
    request: Request,
    services: Services = Depends(get_services),
) -> Response:
    """As `modelInfer`, for one version (a number or an alias)."""
    return await _infer(services, _ref(name, version), request)


async def _infer(services: Services, ref: str, request: Request) -> Response:
    target = await _target(services, ref)
    body = await request.body()
    header_length = request.headers.get(HEADER_LENGTH)
    if len(body) <= INLINE_BYTES:
        return _answer(services, target, body, header_length)
    return await run_in_threadpool(_answer, services, target, body, header_length)


def _answer(services: Services, target: Target, body: bytes, header_length: str | None) -> Response:
    tensors = parse_request(body, header_length)
    x = inference.rows_for(target, inference.Rows(array=tensors.x), max_rows=services.max_rows)
    arrays, parameters = _compute(target, x, tensors)
    for name, values in arrays.items():
        if values.dtype != np.bool_ and not np.isfinite(values).all():
            msg = f"the model's {name} overflowed; a row is far outside the training data"
            raise BadRows(msg, errors=[{"loc": ["body", "inputs", 0], "msg": msg}])
    INFERENCE_ROWS.labels(endpoint="v2_infer").inc(len(x))
    document = {
        "model_name": target.model,
        "model_version": str(target.version),
        "id": tensors.request.id,
        "parameters": parameters,
    }
    content, head = encode_response(document, arrays, tensors.outputs)
    if head is None:
        return Response(content, media_type="application/json")
    headers = {"Inference-Header-Content-Length": str(head)}
    return Response(content, media_type="application/octet-stream", headers=headers)


def _compute(
    target: Target, x: Any, tensors: Tensors
) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
    wanted = [name for name in OUTPUTS if name in tensors.outputs]
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    parameters: dict[str, Any] = {}
    if "embeddings" in wanted:
        layer = _int_parameter(tensors, "layer")
        arrays["embeddings"] = inference.embed(target, x, layer=layer)
    if "reconstructions" in wanted:
        arrays["reconstructions"] = inference.reconstruct(target, x)[0]
    if {"scores", "p_values", "is_anomaly"} & set(wanted):
        found = inference.anomalies(target, x, alpha=_alpha(tensors))
        flags = {"scores": found.scores, "p_values": found.p_values, "is_anomaly": found.is_anomaly}
        arrays.update({k: np.asarray(v) for k, v in flags.items() if k in wanted})
        parameters = {"rule": found.rule, "alpha": found.alpha}
        if np.isfinite(found.threshold):
            parameters["threshold"] = float(found.threshold)
        if found.warnings:
            parameters["warnings"] = " | ".join(found.warnings)
    return {name: arrays[name] for name in wanted}, parameters


def _alpha(tensors: Tensors) -> float | None:
    alpha = tensors.parameters.get("alpha")
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        msg = f"parameters.alpha: must be a number in (0, 1); got {alpha!r}"[:200]
        raise BadRows(msg, errors=[{"loc": ["body", "parameters", "alpha"], "msg": msg}])
    return float(alpha)


def _int_parameter(tensors: Tensors, name: str) -> int | None:
    value = tensors.parameters.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"parameters.{name}: must be a non-negative integer; got {value!r}"[:200]
        raise BadRows(msg, errors=[{"loc": ["body", "parameters", name], "msg": msg}])
    return value
