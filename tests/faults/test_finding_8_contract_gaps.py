"""Finding 8: booleans accepted as numbers; a 3 MB 422 for a 1.2 MB bad request; width errors
that named no row; a CSV header over 4 MB refused as "not well-formed"; wide CSVs slow."""

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
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('gaps') / 'h.db'}")
    with live_client(url, max_body_mb=40) as live:
        dataset = upload_rows(live, normal_rows(100, 4))
        run = wait_for_run(live, start_run(live, dataset["id"], "m")["id"])
        assert run["status"] == "succeeded"
        yield live


@pytest.mark.parametrize("field", ["instances", "rows"])
def test_finding_8_booleans_are_not_numbers(client: TestClient, field: str) -> None:
    rows = [[1.0, 2.0, 3.0, 4.0], [4.0, True, 6.0, 7.0]]
    if field == "rows":
        response = client.post("/v1/datasets", json={"rows": rows})
    else:
        response = client.post("/v1/models/m/embed", json={"instances": rows})
    problem = is_problem(response, 422)
    assert "row 1" in problem["detail"] and "True" in problem["detail"]


def test_finding_8_a_large_bad_request_gets_a_small_answer(client: TestClient) -> None:
    bad = [[1.0, 2.0, "x" * 1_200_000]]
    for response in (
        client.post("/v1/models/m/embed", json={"instances": bad}),
        client.post("/v1/datasets", json={"rows": [*bad, [1.0, 2.0, 3.0]]}),
        client.post("/v1/datasets", json={"rows": [[1.0]], "name": "n" * 1_200_000}),
        client.post("/v1/runs", json={"dataset_id": 1, "model_name": "m" * 1_200_000}),
    ):
        assert 400 <= response.status_code < 500
        assert len(response.content) < 4096, len(response.content)


def test_finding_8_a_wrong_width_names_a_row(client: TestClient) -> None:
    problem = is_problem(client.post("/v1/models/m/embed", json={"instances": [[1.0] * 5]}), 422)
    assert problem["errors"][0]["loc"] == ["body", "instances", 0]
    assert "row 0" in problem["detail"] and "expects 4" in problem["detail"]


def test_finding_8_a_csv_header_over_4_mb_is_read(client: TestClient) -> None:
    width = 170_000
    names = [f"pump_{i:07d}_vibration_rms" for i in range(width)]  # 4.6 MB of names
    header = ",".join(names)
    x = np.random.default_rng(0).normal(size=(3, width))
    body = io.StringIO()
    body.write(header + "\n")
    np.savetxt(body, x, delimiter=",", fmt="%.3f")
    assert len(header) > 4 * 1024 * 1024
    response = client.post("/v1/datasets", files={"file": ("wide.csv", body.getvalue().encode())})
    assert response.status_code == 201, response.text[:500]
    assert response.json()["n_features"] == width and response.json()["n_rows"] == 3
