"""Routes for inference: embed, reconstruct, anomalies (JSON or `.npy` in and out)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from service.api.bodies import NPY, is_npy, parse_json_object, request_body, wants_npy
from service.api.deps import INFER, Services, SessionDep, get_services
from service.api.metrics import INFERENCE_ROWS
from service.api.schemas.inference import (
    AnomaliesRequest,
    AnomaliesResponse,
    EmbedRequest,
    EmbedResponse,
    ReconstructRequest,
    ReconstructResponse,
)
from service.domain import inference
from service.domain.arrays import array_to_npy, npy_to_array
from service.errors import BadInput, BadRows

router = APIRouter(prefix="/v1/models", tags=["inference"], dependencies=[INFER])
NPY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {NPY: {"schema": {"type": "string", "format": "binary"}}}}
}


async def raw_body(request: Request) -> bytes:
    """The request body, read once (the size cap is enforced by middleware)."""
    return await request.body()


def _rows(
    request: Request, body: bytes, allowed: set[str]
) -> tuple[inference.Rows, dict[str, Any]]:
    if is_npy(request):
        return inference.Rows(array=npy_to_array(body)), {}
    document = parse_json_object(body)
    unknown = sorted(set(document) - allowed - {"instances", "records"})
    if unknown:
        raise BadInput(errors=[{"loc": ["body", unknown[0]], "msg": "unknown field"}])
    if ("instances" in document) == ("records" in document):
        raise BadInput(errors=[{"loc": ["body"], "msg": "send exactly one of instances, records"}])
    rows = inference.Rows(instances=document.get("instances"), records=document.get("records"))
    return rows, document


def _finite(name: str, values: np.ndarray[Any, Any]) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row = int(bad[0][0])
        msg = f"row {row}: the model's {name} overflowed; the row is far outside the training data"
        raise BadRows(msg, errors=[{"loc": ["body", row], "msg": msg}])


def _answer(
    request: Request, target: inference.Target, main: str, payload: dict[str, Any]
) -> Response:
    INFERENCE_ROWS.labels(endpoint=request.url.path.rsplit("/", 1)[-1]).inc(len(payload[main]))
    headers = {"X-Hourglass-Model": target.model, "X-Hourglass-Version": str(target.version)}
    if wants_npy(request):
        extra = {
            f"X-Hourglass-{k.replace('_', '-').title()}": str(v)
            for k, v in payload.items()
            if isinstance(v, float)
        }
        return Response(array_to_npy(payload[main]), media_type=NPY, headers=headers | extra)
    body = {"model": target.model, "version": target.version, **payload}
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        headers=headers,
        media_type="application/json",
    )


def _optional_int(document: dict[str, Any], key: str, fallback: int | None) -> int | None:
    value = document.get(key, fallback)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON Schema: 3.0 is an integer
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadInput(errors=[{"loc": ["body", key], "msg": "must be an integer"}])
    return value


@router.post(
    "/{ref}/embed",
    response_model=EmbedResponse,
    responses=NPY_RESPONSE,
    openapi_extra=request_body(EmbedRequest, npy=True),
)
def embed(
    ref: str,
    request: Request,
    layer: int | None = Query(None),
    body: bytes = Depends(raw_body),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> Response:
    """Hidden-layer activations (the code by default) for each row."""
    rows, document = _rows(request, body, {"layer"})
    target = inference.find_target(session, services.cache, ref)
    x = inference.rows_for(target, rows, max_rows=services.max_rows)
    codes = inference.embed(target, x, layer=_optional_int(document, "layer", layer))
    _finite("embedding", codes)
    return _answer(request, target, "embeddings", {"embeddings": codes})


@router.post(
    "/{ref}/reconstruct",
    response_model=ReconstructResponse,
    responses=NPY_RESPONSE,
    openapi_extra=request_body(ReconstructRequest, npy=True),
)
def reconstruct(
    ref: str,
    request: Request,
    body: bytes = Depends(raw_body),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> Response:
    """Each row rebuilt by the model (original units) and its reconstruction error."""
    rows, _ = _rows(request, body, set())
    target = inference.find_target(session, services.cache, ref)
    x = inference.rows_for(target, rows, max_rows=services.max_rows)
    rebuilt, errors = inference.reconstruct(target, x)
    _finite("reconstruction", rebuilt)
    _finite("error", errors)
    return _answer(
        request, target, "reconstructions", {"reconstructions": rebuilt, "errors": errors}
    )


def _alpha(document: dict[str, Any], fallback: float | None) -> float | None:
    value = document.get("alpha", fallback)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise BadInput(errors=[{"loc": ["body", "alpha"], "msg": "must be a number in (0, 1)"}])
    return float(value)


@router.post(
    "/{ref}/anomalies",
    response_model=AnomaliesResponse,
    responses=NPY_RESPONSE,
    openapi_extra=request_body(AnomaliesRequest, npy=True),
)
def anomalies(
    ref: str,
    request: Request,
    alpha: float | None = Query(None, gt=0, lt=1),
    explain: int | None = Query(None, ge=0, le=1000),
    body: bytes = Depends(raw_body),
    session: Session = SessionDep,
    services: Services = Depends(get_services),
) -> Response:
    """Anomaly scores, conformal p-values, flags at `alpha`, and optional explanations."""
    rows, document = _rows(request, body, {"alpha", "explain"})
    k = _optional_int(document, "explain", explain)
    if k is not None and not 0 <= k <= 1000:
        raise BadInput(errors=[{"loc": ["body", "explain"], "msg": "must lie in [0, 1000]"}])
    target = inference.find_target(session, services.cache, ref)
    x = inference.rows_for(target, rows, max_rows=services.max_rows)
    found = inference.anomalies(target, x, alpha=_alpha(document, alpha), explain=k)
    _finite("score", found.scores)
    payload: dict[str, Any] = {
        "scores": found.scores,
        "alpha": found.alpha,
        "threshold": found.threshold,
        "p_values": found.p_values,
        "is_anomaly": found.is_anomaly,
    }
    if found.explanations is not None:
        payload["explanations"] = found.explanations
    return _answer(request, target, "scores", payload)
