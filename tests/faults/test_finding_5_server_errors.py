"""Finding 5: inputs that were answered with 500. Each is now a 4xx problem document of at
most ~4 KB, from a live `hourglass serve` (the shared one: model `m`, WIDTH columns)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.faults.conftest import WIDTH, Server, refused


@pytest.mark.parametrize("version", ["9223372036854775808", "%C2%B2", "%D9%A1", "%EF%BC%91"])
def test_finding_5_odd_version_numbers_are_404(shared: Server, version: str) -> None:
    """Past 2^63 (OverflowError), `²` (ValueError), Arabic-Indic or full-width digits (read as
    version 1): none is a version number."""
    refused(shared.client.get(f"/v1/models/m@{version}/layers"), 404)
    assert shared.client.get(f"/v2/models/m/versions/{version}").status_code == 404
    assert shared.client.get("/v1/models/m@1/layers").status_code == 200


def _lying_npy() -> bytes:
    """130 bytes whose header claims 10^14 float64 elements."""
    header = io.BytesIO()
    fields = {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7)}
    np.lib.format.write_array_header_1_0(header, fields)
    return header.getvalue() + b"\0" * 2


def test_finding_5_an_npy_header_that_lies_is_422_not_memory_error(shared: Server) -> None:
    body = _lying_npy()
    assert len(body) <= 130
    upload = shared.client.post("/v1/datasets", files={"file": ("x.npy", body)})
    assert "claims" in refused(upload, 422)["detail"]
    raw = shared.client.post(
        "/v1/datasets", content=body, headers={"content-type": "application/x-npy"}
    )
    assert "claims" in refused(raw, 422)["detail"]
    inference = shared.client.post(
        "/v1/models/m/embed", content=body, headers={"content-type": "application/x-npy"}
    )
    assert "claims" in refused(inference, 422)["detail"]


def test_finding_5_a_csv_cell_over_131072_characters_is_422(shared: Server) -> None:
    long_cell = b"a,b\n1," + b"9" * 200_000 + b"\n3,4\n"
    refused(shared.client.post("/v1/datasets", files={"file": ("x.csv", long_cell)}), 422)
    long_header = b"a," + b"b" * 200_000 + b"\n1,2\n3,4\n"
    header = refused(
        shared.client.post("/v1/datasets", files={"file": ("y.csv", long_header)}), 422
    )
    assert "header" in header["detail"]


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1.0" + b"]" * depth


@pytest.mark.parametrize("depth", [200, 1_000, 100_000])
def test_finding_5_json_rows_nested_deep_are_422(shared: Server, depth: int) -> None:
    headers = {"content-type": "application/json"}
    post = shared.client.post
    rows = b'{"rows": [[' + _nested(depth) + b"], [1.0]]}"
    refused(post("/v1/datasets", content=rows, headers=headers), 422)
    instances = b'{"instances": [[' + _nested(depth) + b", 1.0, 2.0]]}"
    refused(post("/v1/models/m/embed", content=instances, headers=headers), 422)
    refused(post("/v1/models/m/calibrate", content=instances, headers=headers), 422)
    v2 = b'{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 1], "data": '
    answer = post("/v2/models/m/infer", content=v2 + _nested(depth) + b"}]}", headers=headers)
    assert answer.status_code == 422 and len(answer.content) < 4096, answer.text[:200]


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("training", "seed", 2**64),
        ("training", "seed", -(2**64)),
        ("training", "epochs", 2**64),
        ("training", "batch_size", 2**64),
        ("training", "early_stopping_patience", 2**64),
        ("architecture", "code_size", 2**64),
        ("architecture", "hidden_layers", [2**64]),
    ],
)
def test_finding_5_integers_past_64_bits_in_a_config_are_422(
    shared: Server, section: str, field: str, value: object
) -> None:
    """The Idempotency-Key's fingerprint of the body was computed before validation."""
    body = {"dataset_id": 1, "model_name": "big", section: {field: value}}
    response = shared.client.post(
        "/v1/runs", json=body, headers={"Idempotency-Key": f"k-{section}-{field}-{value}"}
    )
    problem = refused(response, 422)
    assert field in str(problem["errors"])


def test_finding_5_integers_past_64_bits_elsewhere_are_422(shared: Server) -> None:
    big = 2**64
    post = shared.client.post
    assert "dataset_id" in str(refused(post("/v1/runs", json={"dataset_id": big}), 422))
    assert "run_id" in str(refused(shared.client.get(f"/v1/runs/{big}"), 422))
    alias = shared.client.put("/v1/models/m/aliases/prod", json={"version": big})
    assert "version" in str(refused(alias, 422))
    calibrate = post("/v1/models/m/calibrate", json={"dataset_id": big})
    assert "dataset_id" in str(refused(calibrate, 422))
    shape = {"name": "input", "datatype": "FP64", "shape": [big, WIDTH], "data": [1.0] * WIDTH}
    v2 = post("/v2/models/m/infer", json={"inputs": [shape]})
    assert v2.status_code == 422 and "shape" in v2.json()["error"]
