"""Finding 5: inputs that were answered with 500. Each is now a 4xx problem document."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import (
    is_problem,
    live_client,
    migrate,
    normal_rows,
    start_run,
    upload_rows,
    wait_for_run,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('errors') / 'h.db'}")
    with live_client(url, max_body_mb=20) as live:
        dataset = upload_rows(live, normal_rows(100, 4))
        assert wait_for_run(live, start_run(live, dataset["id"], "cardio")["id"])["status"] == (
            "succeeded"
        )
        yield live


@pytest.mark.parametrize("ref", ["cardio@9223372036854775808", "cardio@%C2%B2", "cardio@%D9%A1"])
def test_finding_5_odd_version_numbers_are_404(client: TestClient, ref: str) -> None:
    is_problem(client.get(f"/v1/models/{ref}/layers"), 404)
    assert client.get("/v1/models/cardio@1/layers").status_code == 200


def _lying_npy() -> bytes:
    """130 bytes whose header claims 10^14 float64 elements."""
    header = io.BytesIO()
    fields = {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)}
    np.lib.format.write_array_header_1_0(header, fields)
    return header.getvalue() + b"\0" * 2


def test_finding_5_an_npy_header_that_lies_is_422_not_memory_error(client: TestClient) -> None:
    body = _lying_npy()
    assert len(body) <= 130
    upload = client.post("/v1/datasets", files={"file": ("x.npy", body)})
    assert "claims" in is_problem(upload, 422)["detail"]
    inference = client.post(
        "/v1/models/cardio/embed", content=body, headers={"content-type": "application/x-npy"}
    )
    assert "claims" in is_problem(inference, 422)["detail"]


def test_finding_5_a_csv_cell_over_131072_characters_is_422(client: TestClient) -> None:
    long_cell = b"a,b\n1," + b"9" * 200_000 + b"\n3,4\n"
    is_problem(client.post("/v1/datasets", files={"file": ("x.csv", long_cell)}), 422)
    long_header = b"a," + b"b" * 200_000 + b"\n1,2\n3,4\n"
    header = is_problem(client.post("/v1/datasets", files={"file": ("y.csv", long_header)}), 422)
    assert "header" in header["detail"]


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1.0" + b"]" * depth


@pytest.mark.parametrize("depth", [200, 1_000, 100_000])
def test_finding_5_json_rows_nested_deep_are_422(client: TestClient, depth: int) -> None:
    headers = {"content-type": "application/json"}
    rows = b'{"rows": [[' + _nested(depth) + b"], [1.0]]}"
    dataset = client.post("/v1/datasets", content=rows, headers=headers)
    assert len(dataset.content) < 4096
    is_problem(dataset, 422)
    instances = b'{"instances": [[' + _nested(depth) + b", 1.0, 2.0]]}"
    is_problem(client.post("/v1/models/cardio/embed", content=instances, headers=headers), 422)


@pytest.mark.parametrize("field", ["seed", "epochs", "batch_size", "early_stopping_patience"])
def test_finding_5_integers_past_64_bits_in_a_config_are_422(
    client: TestClient, field: str
) -> None:
    body = {"dataset_id": 1, "model_name": "big", "training": {field: 2**64}}
    response = client.post("/v1/runs", json=body, headers={"Idempotency-Key": f"k-{field}"})
    problem = is_problem(response, 422)
    assert field in str(problem["errors"])
