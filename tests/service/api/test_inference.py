"""Inference over HTTP (embed, reconstruct, anomalies; JSON and `.npy`) against a model trained by
the embedded executor."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models import Detector, DetectorConfig
from service.domain.registry import load_checkpoint, resolve_ref
from service.store.db import make_engine, make_session_factory, transaction
from tests.service.conftest import is_problem, normal_rows, start_run, upload_rows, wait_for_run


def test_embed_instances_records_and_layer(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(4)
    answer = client.post("/v1/models/tiny/embed", json={"instances": x.tolist()}).json()
    assert answer["model"] == "tiny" and answer["version"] == 1
    assert np.asarray(answer["embeddings"]).shape == (4, 3)
    records = [{f"c{i}": float(v) for i, v in enumerate(row)} for row in x]
    by_name = client.post("/v1/models/tiny@1/embed", json={"records": records}).json()
    assert np.allclose(by_name["embeddings"], answer["embeddings"])
    first = client.post("/v1/models/tiny/embed", json={"instances": x.tolist(), "layer": 0}).json()
    assert np.asarray(first["embeddings"]).shape == (4, 16)


def test_npy_in_and_out(client: TestClient, trained: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, normal_rows(5))
    response = client.post(
        "/v1/models/tiny/reconstruct",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert response.status_code == 200
    assert response.headers["x-hourglass-model"] == "tiny"
    assert response.headers["x-hourglass-version"] == "1"
    answer = np.load(io.BytesIO(response.content), allow_pickle=False)
    assert answer["reconstruction"].shape == (5, 6) and answer["error"].shape == (5,)
    json_answer = client.post(
        "/v1/models/tiny/reconstruct", json={"instances": normal_rows(5).tolist()}
    ).json()
    np.testing.assert_allclose(answer["error"], json_answer["errors"])


def test_anomalies_flag_outliers_and_explain(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(4)
    x[0, 2] += 50.0
    body = {"instances": x.tolist(), "explain": 2.0, "alpha": 0.2}  # 2.0 is a JSON integer
    answer = client.post("/v1/models/tiny/anomalies", json=body).json()
    assert answer["alpha"] == 0.2 and len(answer["p_values"]) == 4
    assert answer["is_anomaly"][0] and answer["scores"][0] == max(answer["scores"])
    assert answer["explanations"][0][0]["feature"] == "c2"
    assert len(answer["explanations"][0]) == 2


def test_bad_rows_name_the_row_and_column(client: TestClient, trained: dict[str, Any]) -> None:
    wide = is_problem(client.post("/v1/models/tiny/embed", json={"instances": [[1.0] * 7]}), 422)
    assert "7" in wide["detail"] and "6" in wide["detail"]
    unknown = [{f"c{i}": 1.0 for i in range(6)} | {"zz": 1.0}]
    body = is_problem(client.post("/v1/models/tiny/anomalies", json={"records": unknown}), 422)
    assert "zz" in body["detail"]
    nan = client.post(
        "/v1/models/tiny/embed",
        content=b'{"instances": [[1, 2, 3, 4, 5, NaN]]}',
        headers={"content-type": "application/json"},
    )
    is_problem(nan, 422)
    buffer = io.BytesIO()
    x = np.ones((2, 6))
    x[1, 4] = np.inf
    np.save(buffer, x)
    inf = client.post(
        "/v1/models/tiny/embed",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy"},
    )
    assert "row 1" in is_problem(inf, 422)["detail"]
    is_problem(
        client.post("/v1/models/tiny/embed", json={"instances": [[1, "a", 3, 4, 5, 6]]}), 422
    )
    is_problem(client.post("/v1/models/tiny/embed", json={}), 422)
    is_problem(
        client.post("/v1/models/tiny/embed", json={"instances": [[1.0] * 6], "layer": 99}), 422
    )


def test_rows_cap_and_unknown_refs(client: TestClient, trained: dict[str, Any]) -> None:
    too_many = {"instances": [[1.0] * 6] * 1001}
    is_problem(client.post("/v1/models/tiny/embed", json=too_many), 422)
    for ref in ("nope", "tiny@99", "tiny@nope"):
        is_problem(client.post(f"/v1/models/{ref}/embed", json={"instances": [[1.0] * 6]}), 404)
    is_problem(client.get("/v1/models/nope"), 404)


def _npy(x: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, x)
    return buffer.getvalue()


def test_npy_anomalies_keep_every_field(client: TestClient, trained: dict[str, Any]) -> None:
    x = normal_rows(6)
    x[0, 1] += 50.0
    headers = {"content-type": "application/x-npy", "accept": "application/x-npy"}
    binary = client.post("/v1/models/tiny/anomalies?alpha=0.2", content=_npy(x), headers=headers)
    assert binary.status_code == 200, binary.text
    table = np.load(io.BytesIO(binary.content), allow_pickle=False)
    answer = client.post(
        "/v1/models/tiny/anomalies", json={"instances": x.tolist(), "alpha": 0.2}
    ).json()
    np.testing.assert_allclose(table["score"], answer["scores"])
    np.testing.assert_allclose(table["p_value"], answer["p_values"])
    assert table["is_anomaly"].tolist() == answer["is_anomaly"]
    assert binary.headers["x-hourglass-rule"] == answer["rule"] == "alpha"
    assert float(binary.headers["x-hourglass-alpha"]) == answer["alpha"] == 0.2
    threshold = binary.headers["x-hourglass-threshold"]
    assert (answer["threshold"] is None) == (threshold == "none")
    explained = client.post("/v1/models/tiny/anomalies?explain=2", content=_npy(x), headers=headers)
    assert "explanations" in is_problem(explained, 406)["detail"]


def test_an_unreachable_alpha_is_a_warning_not_silence(
    client: TestClient, trained: dict[str, Any]
) -> None:
    # 300 rows, 20 % calibration: 60 rows, so p-values stop at 1/61 > 0.01.
    answer = client.post(
        "/v1/models/tiny/anomalies", json={"instances": [[1e3] * 6], "alpha": 0.01}
    ).json()
    assert answer["threshold"] is None and answer["is_anomaly"] == [False]
    assert "60 calibration rows" in answer["warnings"][0]
    binary = client.post(  # issue 11 finding 5: a null threshold dropped its header
        "/v1/models/tiny/anomalies?alpha=0.01",
        content=_npy(np.full((1, 6), 1e3)),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert binary.headers["x-hourglass-threshold"] == "none"
    assert binary.headers["x-hourglass-warnings"] == answer["warnings"][0]
    reachable = client.post(
        "/v1/models/tiny/anomalies", json={"instances": [[1e3] * 6], "alpha": 0.05}
    ).json()
    assert reachable["warnings"] == [] and reachable["is_anomaly"] == [True]


@pytest.mark.parametrize(("rows", "reachable"), [(150, False), (200, True)])
def test_a_default_run_says_in_its_metrics_whether_alpha_0_01_is_reachable(
    client: TestClient, rows: int, reachable: bool
) -> None:
    # Issue 11 finding 2b: 569 rows held out 57 and nothing said that alpha 0.01 was out of reach.
    dataset = upload_rows(client, normal_rows(rows, seed=rows), name=f"n{rows}")
    default = {"fraction": 0.1, "alpha": 0.01}  # the engine's, in place of TINY's
    run = wait_for_run(
        client, start_run(client, dataset["id"], f"n{rows}", calibration=default)["id"]
    )
    metrics = run["metrics"]
    answer = client.post(f"/v1/models/n{rows}/anomalies", json={"instances": [[9.0] * 6]}).json()
    if reachable:
        assert metrics["n_calibration"] == 99 and metrics["calibration_excluded"] == 0
        assert metrics["warnings"] == [] == answer["warnings"]
        assert metrics["threshold"] == answer["threshold"] is not None
        return
    assert metrics["n_calibration"] == 15 and metrics["threshold"] is None
    (warning,) = metrics["warnings"]
    assert "smallest p-value is 0.0625" in warning and "use alpha >= 0.0625" in warning
    assert answer["warnings"] == [warning] and answer["is_anomaly"] == [False]
    version = client.get(f"/v1/models/n{rows}").json()["versions"][0]
    assert version["metrics"]["warnings"] == [warning]


def _registered_detector(database_url: str, ref: str) -> Detector:
    """The checkpoint the service registered for `ref`, loaded in this process."""
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            _, version = resolve_ref(session, ref)
            return Detector.from_bytes(load_checkpoint(session, version))
    finally:
        engine.dispose()


def test_contamination_flags_over_http_as_in_process(client: TestClient, database_url: str) -> None:
    x = normal_rows(400, seed=11)
    dataset = upload_rows(client, x, name="contaminated")
    calibration = {"fraction": 0.2, "alpha": 0.05, "contamination": 0.1}
    run = wait_for_run(
        client, start_run(client, dataset["id"], "shares", calibration=calibration)["id"]
    )
    assert run["status"] == "succeeded", run
    answer = client.post("/v1/models/shares/anomalies", json={"instances": x.tolist()}).json()
    assert answer["rule"] == "contamination"
    flagged = float(np.mean(answer["is_anomaly"]))
    assert 0.05 <= flagged <= 0.15
    detector = Detector(DetectorConfig.from_dict(run["config"])).fit(x)
    assert float(np.mean(detector.predict(x))) == pytest.approx(flagged, abs=0.05)
    served = _registered_detector(database_url, "shares")  # the very Detector that answered
    found = served.assess(x)
    assert found.rule == "contamination" and found.threshold == answer["threshold"]
    assert found.is_anomaly.tolist() == answer["is_anomaly"]
    by_alpha = client.post(
        "/v1/models/shares/anomalies", json={"instances": x.tolist(), "alpha": 0.05}
    ).json()
    assert by_alpha["rule"] == "alpha"


@pytest.mark.parametrize(
    ("query", "body", "where"),
    [
        ("", {"alpha": True}, "body"),
        ("", {"alpha": 1.5}, "body"),
        ("", {"explain": -1}, "body"),
        ("", {"explain": 2.5}, "body"),
        ("?alpha=2", {}, "query"),
        ("?explain=x", {}, "query"),
        ("", {"unknown": 1}, "body"),
    ],
)
def test_options_are_validated_naming_the_field(
    client: TestClient, trained: dict[str, Any], query: str, body: dict[str, Any], where: str
) -> None:
    sent = {"instances": [[1.0] * 6], **body}
    problem = is_problem(client.post(f"/v1/models/tiny/anomalies{query}", json=sent), 422)
    assert problem["errors"][0]["loc"][0] == where


def test_deeply_nested_json_is_a_422(client: TestClient, trained: dict[str, Any]) -> None:
    deep = b'{"instances": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    response = client.post(
        "/v1/models/tiny/embed", content=deep, headers={"content-type": "application/json"}
    )
    is_problem(response, 422)


def test_null_options_mean_not_given(client: TestClient, trained: dict[str, Any]) -> None:
    # Found by schemathesis --checks all: a JSON null option was a 500.
    rows = normal_rows(2).tolist()
    embedded = client.post("/v1/models/tiny/embed?layer=0", json={"instances": rows, "layer": None})
    assert embedded.status_code == 200 and len(embedded.json()["embeddings"][0]) == 3
    body = {"instances": rows, "alpha": None, "explain": None}
    assert client.post("/v1/models/tiny/anomalies", json=body).status_code == 200


def test_numeric_strings_are_refused_naming_the_cell(
    client: TestClient, trained: dict[str, Any]
) -> None:
    # numpy would read "1.5" as 1.5 on the float64 fast path: the JSON text decides which path
    row = [1.0, "1.5", 3.0, 4.0, 5.0, 6.0]
    refused = is_problem(client.post("/v1/models/tiny/embed", json={"instances": [row]}), 422)
    assert "row 0, column 'c1'" in refused["detail"] and "'1.5'" in refused["detail"]


def test_npy_bodies_in_any_order_and_byte_order(
    client: TestClient, trained: dict[str, Any]
) -> None:
    x = normal_rows(3)
    expected = client.post("/v1/models/tiny/embed", json={"instances": x.tolist()}).json()
    for variant in (np.asfortranarray(x), x.astype(">f8"), x.astype(np.float32)):
        answer = client.post(
            "/v1/models/tiny/embed",
            content=_npy(variant),
            headers={"content-type": "application/x-npy"},
        ).json()
        np.testing.assert_allclose(answer["embeddings"], expected["embeddings"], rtol=1e-5)
