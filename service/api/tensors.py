"""Open Inference Protocol tensors: the request's one input as rows, the answers as outputs.

JSON tensors carry `data` row-major; with the binary tensor extension (what `tritonclient` sends
by default) the JSON header is the first `Inference-Header-Content-Length` bytes of the body and
each tensor with `binary_data_size` is that many raw little-endian bytes after it, in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from service.api.bodies import parse_json_object
from service.api.schemas.v2 import OUTPUTS, InferInput, InferRequest
from service.domain.arrays import FloatArray, check_finite
from service.errors import BadInput

HEADER_LENGTH = "inference-header-content-length"
DTYPES: dict[str, np.dtype[Any]] = {
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BOOL": np.dtype("?"),
}


@dataclass(frozen=True)
class Tensors:
    """A parsed infer request: its rows, the outputs wanted (name → binary?) and parameters."""

    request: InferRequest
    x: FloatArray
    outputs: dict[str, bool]
    parameters: dict[str, Any] = field(default_factory=dict)


def _bad(loc: list[str | int], msg: str) -> BadInput:
    return BadInput(msg, errors=[{"loc": loc, "msg": msg}])


def parse_request(body: bytes, header_length: str | None) -> Tensors:
    """The request's JSON header and its input tensor, from JSON `data` or the raw bytes."""
    head, raw = _split(body, header_length)
    document = parse_json_object(head)
    inputs = document.get("inputs")
    data: list[object] = []
    if isinstance(inputs, list) and all(isinstance(item, dict) for item in inputs):
        data = [item.pop("data", None) for item in inputs]
    try:
        request = InferRequest.model_validate(document)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise BadInput(_summary(errors), errors=errors) from exc
    tensor = request.inputs[0]
    x = _binary(tensor, raw) if _binary_size(tensor) is not None else _json(tensor, data[0], head)
    return Tensors(request, x, _outputs(request), dict(request.parameters or {}))


def _summary(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isascii() or not header_length.isdigit() or int(header_length) > len(body):
        msg = f"Inference-Header-Content-Length: {header_length[:20]!r} is not a length within the body"
        raise _bad(["header", "Inference-Header-Content-Length"], msg)
    cut = int(header_length)
    return body[:cut], body[cut:]


def _binary_size(tensor: InferInput) -> int | None:
    size = (tensor.parameters or {}).get("binary_data_size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _bad(["body", "inputs", 0, "parameters", "binary_data_size"], "must be a byte count")
    return size


def _binary(tensor: InferInput, raw: bytes) -> FloatArray:
    size = _binary_size(tensor)
    dtype = DTYPES[tensor.datatype]
    expected = math.prod(tensor.shape) * dtype.itemsize
    if size != expected or len(raw) < expected:
        msg = (
            f"inputs[0]: shape {tensor.shape} of {tensor.datatype} is {expected:,} bytes; "
            f"binary_data_size says {size:,} and {len(raw):,} follow the header"
        )
        raise _bad(["body", "inputs", 0, "parameters", "binary_data_size"], msg)
    values = np.frombuffer(raw[:expected], dtype=dtype).reshape(tensor.shape)
    return _rows(values)


def _json(tensor: InferInput, data: object, head: bytes) -> FloatArray:
    loc: list[str | int] = ["body", "inputs", 0, "data"]
    if not isinstance(data, list):
        raise _bad(loc, "inputs[0].data: a list of numbers (or binary_data_size) is required")
    try:
        values = np.asarray(data, dtype=DTYPES[tensor.datatype])
    except (ValueError, TypeError) as exc:
        raise _bad(loc, "inputs[0].data: must hold numbers only, equally nested") from exc
    if (b"true" in head or b"false" in head) and _has_boolean(data):
        raise _bad(loc, "inputs[0].data: a boolean is not a number")
    if values.size != math.prod(tensor.shape):
        msg = f"inputs[0]: shape {tensor.shape} needs {math.prod(tensor.shape):,} values; data has {values.size:,}"
        raise _bad(loc, msg)
    return _rows(values.reshape(tensor.shape))


def _has_boolean(data: list[Any]) -> bool:
    return any(type(v) is bool or (isinstance(v, list) and _has_boolean(v)) for v in data)


def _rows(values: np.ndarray[Any, Any]) -> FloatArray:
    if values.shape[0] == 0:
        raise _bad(["body", "inputs", 0, "shape"], "inputs[0]: no rows")
    return check_finite(values.astype(np.float64), field="inputs")


def _outputs(request: InferRequest) -> dict[str, bool]:
    everything = bool((request.parameters or {}).get("binary_data_output", False))
    if request.outputs is None:
        return dict.fromkeys(OUTPUTS, everything)
    return {
        out.name: bool((out.parameters or {}).get("binary_data", everything))
        for out in request.outputs
    }


def encode_response(
    document: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], binary: dict[str, bool]
) -> tuple[bytes, int | None]:
    """The response body and, when any output is raw bytes, the JSON header's length."""
    outputs: list[dict[str, Any]] = []
    raw: list[bytes] = []
    for name, values in arrays.items():
        datatype = _datatype(values)
        out: dict[str, Any] = {"name": name, "shape": list(values.shape), "datatype": datatype}
        if binary[name]:
            data = np.ascontiguousarray(values, dtype=DTYPES[datatype]).tobytes()
            out["parameters"] = {"binary_data_size": len(data)}
            raw.append(data)
        else:
            out["data"] = values.reshape(-1)
        outputs.append(out)
    head = orjson.dumps({**document, "outputs": outputs}, option=orjson.OPT_SERIALIZE_NUMPY)
    if not raw:
        return head, None
    return head + b"".join(raw), len(head)


def _datatype(values: np.ndarray[Any, Any]) -> str:
    if values.dtype == np.bool_:
        return "BOOL"
    return "FP32" if values.dtype == np.float32 else "FP64"
