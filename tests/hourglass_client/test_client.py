"""hourglass_client against a live `hourglass serve` (real HTTP, a real training run): arrays
and DataFrames in, dataclasses and arrays out, problem documents as typed exceptions, the epoch
stream followed to its end, retries only where a retry is safe."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from hourglass_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    Ended,
    Epoch,
    NotFound,
    Unauthenticated,
    Unavailable,
    ValidationError,
)
from tests.faults.conftest import Server, free_port
from tests.hourglass_client.conftest import KEY, TINY, rows_of


def test_watch_sees_every_epoch_once_then_the_end(trained: dict[str, Any]) -> None:
    events = trained["events"]
    epochs = [e.epoch for e in events if isinstance(e, Epoch)]
    assert epochs == list(range(1, 6)) and events[-1] == Ended("succeeded")
    assert trained["dataset"].columns == ["a", "b", "c", "d", "e"]


def test_inference_takes_arrays_and_gives_arrays(client: Client, trained: dict[str, Any]) -> None:
    x = rows_of(7, seed=1)
    codes = client.embed("clients", x)
    assert isinstance(codes, np.ndarray) and codes.shape == (7, 3)
    assert client.embed("clients", x[0]).shape == (1, 3)  # one row as a flat sequence
    rebuilt = client.reconstruct("clients", x)
    assert rebuilt.reconstructions.shape == (7, 5) and rebuilt.errors.shape == (7,)
    found = client.anomalies("clients", x, alpha=0.2, explain=2)
    assert found.scores.dtype == np.float64 and found.is_anomaly.dtype == np.bool_
    assert found.alpha == 0.2 and len(found.explanations or []) == 7
    assert np.allclose(found.scores, rebuilt.errors)
    layers = client.layers("clients@1")
    assert [layer.width for layer in layers] == [16, 3, 16]
    projection = client.projection("clients", n=10)
    assert projection.x.shape == (10,) and projection.method == "pca"


def test_dataframes_are_matched_by_column_name(client: Client, trained: dict[str, Any]) -> None:
    x = rows_of(6, seed=2)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d", "e"])
    shuffled = frame[["e", "c", "a", "d", "b"]]
    assert np.allclose(
        client.anomalies("clients", shuffled).scores, client.anomalies("clients", x).scores
    )
    stored = client.upload_dataset(frame, name="frame")
    assert stored.columns == ["a", "b", "c", "d", "e"] and stored.n_rows == 6


def test_a_file_path_is_uploaded_as_it_is(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text("x,y\n1,2\n3,4\n5,6\n")
    stored = client.upload_dataset(path)
    assert stored.columns == ["x", "y"] and stored.n_rows == 3 and stored.name == "small"


def test_create_run_is_idempotent_by_default(client: Client, trained: dict[str, Any]) -> None:
    dataset = trained["dataset"].id
    once = client.create_run(dataset, "twice", idempotency_key="fixed-key-1", **TINY)
    again = client.create_run(dataset, "twice", idempotency_key="fixed-key-1", **TINY)
    other = client.create_run(dataset, "twice", **TINY)  # a fresh key of its own
    assert once.id == again.id != other.id
    for run_id in {once.id, other.id}:
        client.wait(run_id)


def test_a_422_is_a_validation_error_naming_the_field(
    client: Client, trained: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        client.create_run(trained["dataset"].id, "bad", training={"epochs": 0})
    error = caught.value
    assert error.status == 422 and error.title == "BadInput"  # the problem document's title
    assert error.errors[0]["loc"] == ["body", "training", "epochs"]
    with pytest.raises(ValidationError) as wrong:
        client.anomalies("clients", np.ones((2, 4)))
    assert "5" in wrong.value.detail and wrong.value.status == 422


def test_other_problems_are_their_own_exceptions(server: Server, client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.get_run(999_999)
    assert missing.value.title == "RunNotFound" and "999999" in missing.value.detail
    with (
        Client(str(server.client.base_url), key="x" * 43) as stranger,
        pytest.raises(Unauthenticated),
    ):
        stranger.list_models()


def test_the_async_client_gives_the_same_answers(
    server: Server, client: Client, trained: dict[str, Any]
) -> None:
    x = rows_of(4, seed=3)

    async def main() -> tuple[np.ndarray, list[Any], list[str]]:
        async with AsyncClient(str(server.client.base_url), key=KEY) as aclient:
            codes = await aclient.embed("clients", x)
            events = [e async for e in aclient.watch(trained["run"].id)]
            models = [m.name for m in await aclient.list_models()]
            with pytest.raises(ValidationError):
                await aclient.embed("clients", np.ones((1, 2)))
            return codes, events, models

    found: list[tuple[np.ndarray, list[Any], list[str]]] = []
    # a thread of its own: pytest-playwright's sync API may keep a loop running in this one
    worker = threading.Thread(target=lambda: found.append(asyncio.run(main())))
    worker.start()
    worker.join(timeout=120)
    codes, events, models = found[0]
    assert np.array_equal(codes, client.embed("clients", x))
    assert [e.epoch for e in events if isinstance(e, Epoch)] == list(range(1, 6))
    assert events[-1] == Ended("succeeded") and "clients" in models


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 (a problem document) to the first `failures` requests, then 200."""

    failures = 2
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(self.command)
        if len(self.seen) <= self.failures:
            body = b'{"type":"x","title":"Unavailable","status":503,"detail":"busy"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/problem+json")
        else:
            body = b'{"status":"ready"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.seen = []
    made = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=made.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{made.server_address[1]}"
    made.shutdown()
    made.server_close()


def test_idempotent_calls_are_retried_on_503(flaky: str) -> None:
    with Client(flaky, backoff=0.01) as retrying:
        assert retrying.ready() == {"status": "ready"}
    assert _Flaky.seen == ["GET", "GET", "GET"]


def test_a_call_that_is_not_idempotent_is_not_retried(flaky: str) -> None:
    with Client(flaky, backoff=0.01) as once, pytest.raises(Unavailable) as caught:
        once.upload_dataset(np.ones((2, 2)))
    assert _Flaky.seen == ["POST"] and caught.value.detail == "busy"


def test_connection_errors_are_retried_then_raised() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with Client(nobody, retries=2, backoff=0.01) as lonely, pytest.raises(ConnectionFailed):
        lonely.get_run(1)
