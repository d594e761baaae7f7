"""A typed Python client for Hourglass over HTTP (httpx): sync `Client`, async `AsyncClient`.

It speaks only HTTP: nothing here imports the service or the engine (an import-linter contract
holds it), so it can be installed and used anywhere the service can be reached.

```python
from hourglass_client import Client

with Client("http://127.0.0.1:8000", key="hg_…") as client:
    dataset = client.upload_dataset("sensors.csv")
    run = client.create_run(dataset.id, "sensors", training={"epochs": 50})
    run = client.wait(run.id, progress=True)
    flags = client.anomalies("sensors", rows, alpha=0.01, explain=3)
```
"""

from hourglass_client.aio import AsyncClient
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
    Version,
)
from hourglass_client.client import Client
from hourglass_client.errors import (
    BadRequest,
    BodyTooLarge,
    Conflict,
    ConnectionFailed,
    Forbidden,
    HourglassError,
    NotAcceptable,
    NotFound,
    ServerError,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationError,
)
from hourglass_client.events import Ended, Restarted

__all__ = [
    "Anomalies",
    "AsyncClient",
    "BadRequest",
    "BodyTooLarge",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Dataset",
    "Ended",
    "Epoch",
    "Forbidden",
    "HourglassError",
    "Layer",
    "ModelDetail",
    "ModelSummary",
    "NotAcceptable",
    "NotFound",
    "Projection",
    "Reconstruction",
    "Restarted",
    "Run",
    "RunPage",
    "ServerError",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValidationError",
    "Version",
]
