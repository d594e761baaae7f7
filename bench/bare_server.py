"""The bare reference for bench/serve.py: the least an HTTP route can do around the same model.

One FastAPI app, no database, no keys, no validation beyond parsing: the body is read with orjson
(or numpy for `.npy`), the Detector loaded from the same checkpoint answers in `inference_mode`,
and the answer is written with orjson (or `.npy`). Whatever Hourglass spends beyond this is its own
overhead. Run by bench/serve.py as

    BARE_CHECKPOINT=detector.ckpt uvicorn bench.bare_server:app --workers 1
"""

from __future__ import annotations

import gc
import io
import os
from pathlib import Path

import numpy as np
import orjson
import torch
from fastapi import FastAPI, Request, Response

from models import Detector

torch.set_num_threads(1)
NPY = "application/x-npy"
DETECTOR = Detector.from_bytes(Path(os.environ["BARE_CHECKPOINT"]).read_bytes())
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
gc.freeze()


def _rows(request: Request, body: bytes) -> np.ndarray:
    if request.headers.get("content-type") == NPY:
        rows: np.ndarray = np.load(io.BytesIO(body), allow_pickle=False)
        return rows
    return np.asarray(orjson.loads(body)["instances"], dtype=np.float64)


def _npy(array: np.ndarray) -> Response:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return Response(buffer.getvalue(), media_type=NPY)


@app.post("/embed")
async def embed(request: Request) -> Response:
    x = _rows(request, await request.body())
    codes = DETECTOR.embed(x)
    if request.headers.get("accept") == NPY:
        return _npy(codes)
    return Response(orjson.dumps({"embeddings": codes}, option=orjson.OPT_SERIALIZE_NUMPY))


@app.post("/anomalies")
async def anomalies(request: Request) -> Response:
    found = DETECTOR.assess(_rows(request, await request.body()))
    body = {"scores": found.scores, "p_values": found.p_values, "is_anomaly": found.is_anomaly}
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY))
