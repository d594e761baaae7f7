"""Arrow IPC bodies and answers: columns by name in, every JSON answer field as a column out."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, normal_rows

ARROW = "application/vnd.apache.arrow.stream"
COLUMNS = [f"c{i}" for i in range(6)]


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _table(x: np.ndarray, names: list[str] | None = None) -> pa.Table:
    names = names or COLUMNS
    return pa.table({name: x[:, COLUMNS.index(name)] for name in names})


def _read(content: bytes) -> pa.Table:
    with pa.ipc.open_stream(content) as reader:
        return reader.read_all()


def test_arrow_columns_are_matched_by_name(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(5)
    shuffled = _stream(_table(x, list(reversed(COLUMNS))))
    response = client.post(
        "/v1/models/tiny/embed", content=shuffled, headers={"content-type": ARROW, "accept": ARROW}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW
    table = _read(response.content)
    json_answer = client.post("/v1/models/tiny/embed", json={"instances": x.tolist()}).json()
    codes = np.asarray(table.column("embeddings").to_pylist())
    np.testing.assert_allclose(codes, json_answer["embeddings"])
    metadata = table.schema.metadata
    assert orjson.loads(metadata[b"model"]) == "tiny" and orjson.loads(metadata[b"version"]) == 1


def test_arrow_anomalies_keep_every_field_of_the_json_answer(
    client: TestClient, trained: dict[str, Any]
) -> None:
    x = normal_rows(6)
    x[0, 1] += 50.0
    headers = {"content-type": ARROW, "accept": ARROW}
    binary = client.post(
        "/v1/models/tiny/anomalies?alpha=0.2&explain=2",
        content=_stream(_table(x)),
        headers=headers,
    )
    assert binary.status_code == 200, binary.text
    table = _read(binary.content)
    answer = client.post(
        "/v1/models/tiny/anomalies", json={"instances": x.tolist(), "alpha": 0.2, "explain": 2}
    ).json()
    assert table.column_names == ["scores", "p_values", "is_anomaly", "explanations"]
    np.testing.assert_allclose(table.column("scores").to_numpy(), answer["scores"])
    np.testing.assert_allclose(table.column("p_values").to_numpy(), answer["p_values"])
    assert table.column("is_anomaly").to_pylist() == answer["is_anomaly"]
    assert table.column("explanations").to_pylist() == answer["explanations"]
    metadata = {k.decode(): orjson.loads(v) for k, v in table.schema.metadata.items()}
    for scalar in ("model", "version", "rule", "alpha", "threshold", "warnings"):
        assert metadata[scalar] == answer[scalar], scalar
    assert binary.headers["x-hourglass-rule"] == "alpha"


def test_reconstruct_answers_in_arrow(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(3)
    response = client.post(
        "/v1/models/tiny/reconstruct", json={"instances": x.tolist()}, headers={"accept": ARROW}
    )
    table = _read(response.content)
    assert table.column_names == ["reconstructions", "errors"]
    assert np.asarray(table.column("reconstructions").to_pylist()).shape == (3, 6)


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (pa.table({**{c: [1.0] for c in COLUMNS}, "zz": [1.0]}), "unknown column 'zz'"),
        (pa.table({c: [1.0] for c in COLUMNS[:5]}), "missing column 'c5'"),
        (pa.table({**{c: [1.0] for c in COLUMNS[:5]}, "c5": ["x"]}), "column 'c5' is string"),
        (pa.table({**{c: [1.0, 2.0] for c in COLUMNS[:5]}, "c5": [1.0, None]}), "row 1"),
        (pa.table({**{c: [1.0] for c in COLUMNS[:5]}, "c5": [float("nan")]}), "NaN"),
        (pa.table({c: pa.array([], pa.float64()) for c in COLUMNS}), "no rows"),
    ],
)
def test_bad_arrow_bodies_name_the_column(
    client: TestClient, trained: dict[str, Any], table: pa.Table, says: str
) -> None:
    response = client.post(
        "/v1/models/tiny/anomalies", content=_stream(table), headers={"content-type": ARROW}
    )
    assert says in is_problem(response, 422)["detail"]


def test_a_body_that_is_not_arrow_is_a_422(client: TestClient, trained: dict[str, Any]) -> None:
    response = client.post(
        "/v1/models/tiny/embed", content=b"\xff" * 64, headers={"content-type": ARROW}
    )
    assert "not a readable Arrow IPC stream" in is_problem(response, 422)["detail"]
