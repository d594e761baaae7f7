"""`GET /v1/models/{ref}/projection`: the version's own calibration rows (a seeded sample kept
with it), their codes on a plane, and scores and flags that are the Detector's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from service.domain.projection import to_plane
from service.store.db import transaction
from service.store.tables import ModelVersion
from tests.service.conftest import is_problem, normal_rows


def _services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def test_points_are_the_calibration_rows_of_the_version(
    client: TestClient, trained: dict[str, Any]
) -> None:
    found = client.get("/v1/models/tiny@1/projection").json()
    detector = _services(client).lookup.load("tiny@1").detector
    calibration = detector.calibration_.scores
    assert found["method"] == "pca" and len(found["x"]) == len(found["y"]) == calibration.size
    # every point's score is one of the calibration rows' scores: they are those rows
    nearest = np.abs(np.asarray(found["scores"])[:, None] - calibration[None, :]).min(axis=1)
    assert nearest.max() < 1e-9
    assert sorted(found["scores"]) == pytest.approx(sorted(calibration.tolist()), abs=1e-9)
    shares = found["explained_variance"]
    assert len(shares) == 2 and shares[0] >= shares[1] > 0 and sum(shares) <= 1 + 1e-9


def test_flags_and_threshold_are_the_detectors(client: TestClient, trained: dict[str, Any]) -> None:
    found = client.get("/v1/models/tiny@1/projection", params={"alpha": 0.2}).json()
    answer = client.post(
        "/v1/models/tiny@1/anomalies", json={"instances": normal_rows(2).tolist(), "alpha": 0.2}
    ).json()
    assert found["threshold"] == answer["threshold"] and found["alpha"] == 0.2
    flagged = np.asarray(found["scores"]) > found["threshold"]
    assert found["is_anomaly"] == flagged.tolist() and any(flagged)


def test_n_takes_a_prefix_of_the_same_sample(client: TestClient, trained: dict[str, Any]) -> None:
    every = client.get("/v1/models/tiny@1/projection").json()
    ten = client.get("/v1/models/tiny@1/projection", params={"n": 10}).json()
    assert len(ten["scores"]) == 10 and ten["scores"] == every["scores"][:10]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"n": 0}, "n"), ({"n": 5001}, "n"), ({"method": "umap"}, "method"), ({"alpha": 1}, "alpha")],
)
def test_bad_parameters_are_422(
    client: TestClient, trained: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    problem = is_problem(client.get("/v1/models/tiny/projection", params=params), 422)
    assert problem["errors"][0]["loc"] == ["query", field]


def test_recalibrated_version_shows_its_own_calibration_rows(
    client: TestClient, trained: dict[str, Any]
) -> None:
    rows = normal_rows(60, seed=11)
    made = client.post("/v1/models/tiny@1/calibrate", json={"instances": rows.tolist()}).json()
    ref = f"tiny@{made['version']}"
    found = client.get(f"/v1/models/{ref}/projection").json()
    scores = client.post(f"/v1/models/{ref}/anomalies", json={"instances": rows.tolist()}).json()
    assert sorted(found["scores"]) == pytest.approx(sorted(scores["scores"]), abs=1e-9)


def test_a_version_without_a_sample_is_a_409(client: TestClient, trained: dict[str, Any]) -> None:
    made = client.post(
        "/v1/models/tiny@1/calibrate", json={"instances": normal_rows(40).tolist()}
    ).json()
    with transaction(_services(client).factory) as session:
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.version == made["version"])
            .values(sample_blob_id=None)
        )
    problem = is_problem(client.get(f"/v1/models/tiny@{made['version']}/projection"), 409)
    assert "recalibrate" in problem["detail"]
    is_problem(client.get("/v1/models/nope/projection"), 404)


def test_small_codes_are_shown_as_they_are() -> None:
    codes = np.array([[1.0, 2.0], [3.0, -4.0]])
    plane, method, shares = to_plane(codes)
    assert method == "code" and shares == [] and np.array_equal(plane, codes)
    one, _, _ = to_plane(codes[:, :1])
    assert np.array_equal(one, [[1.0, 0.0], [3.0, 0.0]])


def test_pca_keeps_the_most_variance_in_a_fixed_orientation() -> None:
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(500, 4)) * np.array([5.0, 2.0, 0.1, 0.1])
    plane, method, shares = to_plane(codes)
    assert method == "pca" and shares[0] > 0.8 and shares[0] > shares[1]
    assert np.var(plane[:, 0]) == pytest.approx(np.var(codes[:, 0]), rel=0.05)
    again, _, _ = to_plane(-codes)  # the sign of an axis does not depend on the data's
    assert np.allclose(np.abs(again), np.abs(plane))
    assert plane[np.abs(plane[:, 0]).argmax(), 0] * codes[np.abs(plane[:, 0]).argmax(), 0] > 0
