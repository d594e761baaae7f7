"""Finding 7: on POST /v1/runs, /calibrate and alias PUT the body was read and parsed before the
key was checked (an 88 MB unauthenticated POST took 1.08 s to its 401; a malformed body got 400).
Now the key is checked first: the 401 comes before the body has even been sent, and a key
holder's malformed JSON is a 422 as the contract says."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Server, server_env, serving

TOKEN = "z" * 40
ROUTES = [
    ("POST", "/v1/runs"),
    ("POST", "/v1/models/m/calibrate"),
    ("PUT", "/v1/models/m/aliases/prod"),
    ("POST", "/v1/datasets"),
    ("POST", "/v1/models/m/anomalies"),
]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("keyed")
    env = server_env(f"sqlite:///{logs / 'h.db'}", api_keys=f"admin:{TOKEN}")
    with serving(env, logs) as live:
        yield live


def _status_before_the_body_ends(port: int, method: str, path: str) -> tuple[int, float]:
    """Announce an 88 MB JSON body, send 1 KB of it, and wait for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {88 * 1024 * 1024}\r\n\r\n"
        )
        started = time.monotonic()
        sock.sendall(head.encode() + b'{"rows": [' + b"[1.0]," * 170)
        answer = sock.recv(65536).decode(errors="replace")
        return int(answer.split(" ", 2)[1]), time.monotonic() - started


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_finding_7_unauthenticated_bodies_are_refused_unread(
    keyed: Server, method: str, path: str
) -> None:
    port = int(keyed.env["HOURGLASS_PORT"])
    status, seconds = _status_before_the_body_ends(port, method, path)
    assert status == 401 and seconds < 2


@pytest.mark.parametrize(("method", "path"), ROUTES[:3])
def test_finding_7_malformed_json_is_401_without_a_key_and_422_with_one(
    keyed: Server, method: str, path: str
) -> None:
    headers = {"Content-Type": "application/json"}
    anonymous = keyed.client.request(method, path, content=b"{not json", headers=headers)
    assert anonymous.status_code == 401
    headers["Authorization"] = f"Bearer {TOKEN}"
    holder = keyed.client.request(method, path, content=b"{not json", headers=headers)
    assert holder.status_code == 422 and holder.json()["title"] == "BadInput"
