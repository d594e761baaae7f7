"""Checkpoint files: safetensors for every tensor, a JSON document in its header. Never pickle.

The document carries a sha256 of itself and of the tensors, so a flipped byte anywhere in the file
is caught, not only a broken header.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from models.errors import CheckpointError

FORMAT = "hourglass-detector"
FORMAT_VERSION = 1
_HEADER_LIMIT = 100 * 1024 * 1024


def digest(tensors: dict[str, torch.Tensor], document: dict[str, Any]) -> str:
    """sha256 over the document (canonical JSON) and the tensors' names, dtypes, shapes and bytes."""
    body = {k: v for k, v in document.items() if k != "sha256"}
    h = hashlib.sha256(json.dumps(body, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def dump(
    tensors: dict[str, torch.Tensor], document: dict[str, Any], *, kind: str = FORMAT
) -> bytes:
    """Serialise tensors and a JSON document into one safetensors file tagged `kind`."""
    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    doc = {**document, "format": kind, "format_version": FORMAT_VERSION}
    doc["sha256"] = digest(cpu, doc)
    return bytes(save_tensors(cpu, metadata={"hourglass": json.dumps(doc)}))


def load(data: bytes, *, kind: str = FORMAT) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Parse and verify a file tagged `kind`; raise CheckpointError when it is not intact."""
    document = _read_document(data, kind)
    try:
        tensors = load_tensors(data)
    except Exception as exc:  # safetensors raises its own error types for every malformed file
        raise CheckpointError(f"checkpoint tensors are unreadable: {exc}") from exc
    if digest(tensors, document) != document.get("sha256"):
        raise CheckpointError("checkpoint digest mismatch: the file was modified or corrupted")
    return tensors, document


def _read_document(data: bytes, kind: str) -> dict[str, Any]:
    if len(data) < 8:
        raise CheckpointError("checkpoint is truncated: no header")
    (size,) = struct.unpack("<Q", data[:8])
    if size > _HEADER_LIMIT or 8 + size > len(data):
        raise CheckpointError("checkpoint is truncated or its header length is invalid")
    try:
        header = json.loads(data[8 : 8 + size])
        document = json.loads(header["__metadata__"]["hourglass"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError("not an Hourglass checkpoint: no readable document") from exc
    if not isinstance(document, dict) or document.get("format") != kind:
        raise CheckpointError(f"not an Hourglass {kind} file: wrong format tag")
    if document.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint version {document.get('format_version')!r}")
    return document


def library_versions() -> dict[str, str]:
    """Versions of the libraries that wrote a checkpoint, for the record."""
    from models import __version__

    return {"hourglass": __version__, "torch": torch.__version__, "numpy": np.__version__}
