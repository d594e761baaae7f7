"""Finding 8: booleans accepted as numbers; a 3 MB 422 for a 1.2 MB bad request; width errors
that named no row; a CSV header over 4 MB refused as "not well-formed"; wide CSVs parsed at
~1 MB/s (a 20 × 100,000 CSV: 7.7 s, 0.3 s as `.npy`). Against the shared live server (model
`m`, WIDTH columns)."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest

from tests.faults.conftest import WIDTH, Server, refused

ROW = [1.0] * WIDTH


def _v2(data: list[Any], shape: list[int], name: str = "input") -> dict[str, Any]:
    return {"inputs": [{"name": name, "datatype": "FP64", "shape": shape, "data": data}]}


@pytest.mark.parametrize("where", ["instances", "records", "rows", "calibrate"])
def test_finding_8_booleans_are_not_numbers(shared: Server, where: str) -> None:
    rows = [ROW, [4.0, True, 6.0, 7.0]]
    post = shared.client.post
    if where == "instances":
        response = post("/v1/models/m/anomalies", json={"instances": rows})
    elif where == "records":
        records = [dict(zip(["c0", "c1", "c2", "c3"], row, strict=True)) for row in rows]
        response = post("/v1/models/m/embed", json={"records": records})
    elif where == "rows":
        response = post("/v1/datasets", json={"rows": rows})
    else:
        response = post("/v1/models/m/calibrate", json={"instances": rows})
    problem = refused(response, 422)
    assert "row 1" in problem["detail"] and "True" in problem["detail"], problem


def test_finding_8_booleans_are_not_numbers_in_kserve_v2(shared: Server) -> None:
    answer = shared.client.post("/v2/models/m/infer", json=_v2([1.0, True, 2.0, 3.0], [1, 4]))
    assert answer.status_code == 422 and "boolean" in answer.json()["error"]


def test_finding_8_a_large_bad_request_gets_a_small_answer(shared: Server) -> None:
    bad = [[1.0, 2.0, 3.0, "x" * 1_200_000]]
    post = shared.client.post
    for response in (
        post("/v1/models/m/embed", json={"instances": bad}),
        post("/v1/models/m/calibrate", json={"instances": bad}),
        post("/v1/datasets", json={"rows": [*bad, ROW]}),
        post("/v1/datasets", json={"rows": [ROW, ROW], "name": "n" * 1_200_000}),
        post("/v1/runs", json={"dataset_id": 1, "model_name": "m" * 1_200_000}),
        post("/v1/models/m/embed", json={"records": [{"c" * 1_200_000: 1.0}]}),
    ):
        refused(response, 422)
    v2 = post("/v2/models/m/infer", json=_v2(ROW, [1, WIDTH], name="x" * 1_200_000))
    assert v2.status_code == 422 and len(v2.content) < 4096


@pytest.mark.parametrize(
    ("rows", "row", "said"),
    [
        ([[1.0] * (WIDTH + 1)], 0, f"expects {WIDTH}"),
        ([ROW, ROW[:-1]], 1, "has 3 values"),
        ([ROW] * 5 + [[*ROW, 1.0]], 5, "has 5 values"),
    ],
    ids=["every-row", "ragged", "late"],
)
def test_finding_8_a_wrong_width_names_a_row(
    shared: Server, rows: list[list[float]], row: int, said: str
) -> None:
    for field, path in [
        ("instances", "/v1/models/m/embed"),
        ("instances", "/v1/models/m/calibrate"),
    ]:
        problem = refused(shared.client.post(path, json={field: rows}), 422)
        assert problem["errors"][0]["loc"] == ["body", field, row], problem
        assert f"row {row}" in problem["detail"] and said in problem["detail"], problem
    if len({len(r) for r in rows}) > 1:
        dataset = refused(shared.client.post("/v1/datasets", json={"rows": rows}), 422)
        assert dataset["errors"][0]["loc"] == ["body", "rows", row]
    csv = "c0,c1,c2,c3\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    uploaded = shared.client.post("/v1/datasets", files={"file": ("w.csv", csv.encode())})
    if len(rows[0]) == WIDTH or len(rows) > 1:
        assert f"row {row}" in refused(uploaded, 422)["detail"]


def test_finding_8_a_csv_header_over_4_mb_is_read(shared: Server) -> None:
    width = 170_000
    names = [f"pump_{i:07d}_vibration_rms" for i in range(width)]  # 4.6 MB of names
    x = np.random.default_rng(0).normal(size=(3, width))
    body = ",".join(names) + "\n" + "\n".join(",".join(f"{v:.3f}" for v in r) for r in x) + "\n"
    assert len(body) > 4 * 1024 * 1024
    response = shared.client.post("/v1/datasets", files={"file": ("wide.csv", body.encode())})
    assert response.status_code == 201, response.text[:500]
    assert response.json()["n_features"] == width and response.json()["n_rows"] == 3


def _upload_seconds(shared: Server, body: bytes, kind: str) -> float:
    started = time.perf_counter()
    response = shared.client.post("/v1/datasets", content=body, headers={"content-type": kind})
    seconds = time.perf_counter() - started
    assert response.status_code == 201, response.text[:300]
    assert (response.json()["n_rows"], response.json()["n_features"]) == (20, 100_000)
    return seconds


def test_finding_8_a_wide_csv_uploads_about_as_fast_as_its_npy(
    shared: Server, record_property: Any
) -> None:
    """20 rows × 100,000 columns (19.7 MB of CSV, 16 MB of .npy), over HTTP: best of two each."""
    x = np.random.default_rng(1).normal(size=(20, 100_000))
    header = ",".join(f"c{i}" for i in range(x.shape[1]))
    csv = (header + "\n" + "\n".join(",".join(f"{v:.6f}" for v in r) for r in x) + "\n").encode()
    npy = io.BytesIO()
    np.save(npy, x)
    csv_s = min(_upload_seconds(shared, csv, "text/csv") for _ in range(2))
    npy_s = min(_upload_seconds(shared, npy.getvalue(), "application/x-npy") for _ in range(2))
    record_property("wide_csv_upload_seconds", round(csv_s, 2))
    record_property("wide_npy_upload_seconds", round(npy_s, 2))
    record_property("wide_csv_mb_per_second", round(len(csv) / 1e6 / csv_s, 1))
    assert csv_s < 4 * npy_s + 1.0, (csv_s, npy_s)  # was 25×: 7.7 s against 0.3 s
