"""Finding 7: on POST /v1/runs, /calibrate and alias PUT the body was read and parsed before the
key was checked (an 88 MB unauthenticated POST took 1.08 s to its 401; a malformed body got 400).
Now the key is checked first on every route that reads a body: the 401 comes before the body has
even been sent, and a key holder's malformed JSON is a 422 as the contract says."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from tests.faults.conftest import TOKEN, Server

JSON = "application/json"
REF, ALIAS = "/v1/models/{ref}", "/v1/models/{name}/aliases/{alias}"
V2, V2_VERSION = "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"
# Every route that reads a request body (OpenAPI path, path requested) and the media types read.
ROUTES = [
    ("POST", "/v1/runs", "/v1/runs", JSON),
    ("POST", f"{REF}/calibrate", "/v1/models/m/calibrate", JSON),
    ("PUT", ALIAS, "/v1/models/m/aliases/prod", JSON),
    ("POST", "/v1/datasets", "/v1/datasets", JSON),
    ("POST", "/v1/datasets", "/v1/datasets", "multipart/form-data; boundary=x"),
    ("POST", "/v1/datasets", "/v1/datasets", "text/csv"),
    ("POST", f"{REF}/embed", "/v1/models/m/embed", JSON),
    ("POST", f"{REF}/reconstruct", "/v1/models/m/reconstruct", JSON),
    ("POST", f"{REF}/anomalies", "/v1/models/m/anomalies", JSON),
    ("POST", f"{REF}/anomalies", "/v1/models/m/anomalies", "application/x-npy"),
    ("POST", V2, "/v2/models/m/infer", JSON),
    ("POST", V2, "/v2/models/m/infer", "application/octet-stream"),
    ("POST", V2_VERSION, "/v2/models/m/versions/1/infer", JSON),
    ("POST", "/v1/sweeps", "/v1/sweeps", JSON),
    ("POST", f"{REF}/attributions", "/v1/models/m/attributions", JSON),
    ("POST", f"{REF}/traverse", "/v1/models/m/traverse", JSON),
]
BODY_ROUTES = sorted({(method, path) for method, _, path, _ in ROUTES})


def test_finding_7_the_list_is_every_route_that_reads_a_body(shared: Server) -> None:
    paths = shared.client.get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert {(method, template) for method, template, _, _ in ROUTES} == documented


def _answer_before_the_body_ends(port: int, method: str, path: str, kind: str) -> tuple[int, float]:
    """Announce an 88 MB body, send 1 KB of it, and wait for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {88 * 1024 * 1024}\r\n\r\n"
        )
        started = time.monotonic()
        sock.sendall(head.encode() + b'{"rows": [' + b"[1.0]," * 170)
        answer = sock.recv(65536).decode(errors="replace")
        return int(answer.split(" ", 2)[1]), time.monotonic() - started


@pytest.mark.parametrize(("method", "template", "path", "kind"), ROUTES)
def test_finding_7_unauthenticated_bodies_are_refused_unread(
    shared: Server, method: str, template: str, path: str, kind: str, record_property: Any
) -> None:
    port = int(shared.env["HOURGLASS_PORT"])
    status, seconds = _answer_before_the_body_ends(port, method, path, kind)
    record_property("unread_401_seconds", round(seconds, 3))
    assert status == 401 and seconds < 2


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_finding_7_malformed_json_is_401_without_a_key_and_422_with_one(
    shared: Server, method: str, path: str
) -> None:
    headers = {"Content-Type": JSON, "Authorization": "Bearer " + "x" * 40}
    anonymous = shared.client.request(method, path, content=b"{not json", headers=headers)
    assert anonymous.status_code == 401
    headers["Authorization"] = f"Bearer {TOKEN}"
    holder = shared.client.request(method, path, content=b"{not json", headers=headers)
    assert holder.status_code == 422, holder.text
    if path.startswith("/v2/"):  # the protocol's own error document
        assert "not valid JSON" in holder.json()["error"]
    else:
        assert holder.json()["title"] == "BadInput"
