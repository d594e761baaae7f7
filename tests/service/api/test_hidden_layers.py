"""Hidden layers over HTTP (issue 14): layer statistics of a version and of every epoch,
`"auto"` sizes, attributions, traversals, unit examples and CKA."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, normal_rows, start_run, upload_rows, wait_for_run


def test_layers_carry_their_end_of_training_statistics(
    client: TestClient, trained: dict[str, Any]
) -> None:
    plain = client.get("/v1/models/tiny/layers").json()
    assert all(layer["stats"] is None for layer in plain)
    layers = client.get("/v1/models/tiny/layers", params={"stats": "true"}).json()
    assert [layer["width"] for layer in layers] == [16, 3, 16]
    for layer in layers:
        stats = layer["stats"]
        assert len(stats["mean"]) == len(stats["std"]) == layer["width"]
        assert stats["source"] == "training sample" and stats["rows"] > 200
    encoder, code = layers[0]["stats"], layers[1]["stats"]
    assert len(encoder["fire_rate"]) == 16 and encoder["dead_units"] == len(encoder["dead"])
    assert encoder["saturation"] is None  # relu does not saturate
    assert 1.0 <= code["effective_dimension"] <= 3.0 and abs(sum(code["variance_share"]) - 1) < 1e-9
    assert code["fire_rate"] is None and 0 <= code["max_abs_correlation"] <= 1


def test_every_epoch_records_its_cheap_layer_statistics(
    client: TestClient, trained: dict[str, Any]
) -> None:
    epochs = client.get(f"/v1/runs/{trained['id']}/epochs").json()["items"]
    assert len(epochs) == 3
    for epoch in epochs:
        layers = epoch["layers"]
        assert [layer["index"] for layer in layers["layers"]] == [0, 1, 2]
        assert len(layers["code_variance"]) == 3
        assert 0.0 <= layers["layers"][0]["dead_share"] <= 1.0
        assert layers["layers"][1]["dead_share"] is None  # the code is linear


def test_auto_sizes_are_resolved_from_the_rows_and_echoed(client: TestClient) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 3)) @ rng.normal(size=(3, 10)) + 0.01 * rng.normal(size=(600, 10))
    dataset = upload_rows(client, x, name="three-d")
    sizes = {"code_size": "auto", "hidden_layers": "auto", "dropout": 0.0}
    run = start_run(client, dataset["id"], "auto-sized", architecture=sizes)
    assert run["config"]["architecture"]["code_size"] == "auto"
    done = wait_for_run(client, run["id"])
    assert done["status"] == "succeeded", done
    card = done["config"]["auto"]
    assert card["rule"] == "pca_90" and 1 <= card["code_size"] <= 3
    assert card["asked"] == {"code_size": True, "hidden_layers": True}
    documented = "pca_90 pca_95 pca_99 participation_ratio two_nn mle_k20"  # docs/api.md
    assert set(card["estimates"]) == set(documented.split())
    assert card["estimates"]["pca_90"] == card["code_size"]
    version = client.get("/v1/models/auto-sized").json()["versions"][0]
    assert version["code_size"] == card["code_size"]
    layers = client.get("/v1/models/auto-sized/layers").json()
    assert [layer["width"] for layer in layers] == [
        *card["hidden_layers"],
        card["code_size"],
        *reversed(card["hidden_layers"]),
    ]


def test_a_size_that_is_neither_a_number_nor_auto_is_refused(
    client: TestClient, trained: dict[str, Any]
) -> None:
    body = {"dataset_id": trained["dataset"]["id"], "model_name": "x"}
    for field in ("code_size", "hidden_layers"):
        answer = client.post("/v1/runs", json=body | {"architecture": {field: "automatic"}})
        problem = is_problem(answer, 422)
        assert field in str(problem)


def test_attributions_of_a_unit_and_of_the_score(
    client: TestClient, trained: dict[str, Any]
) -> None:
    rows = normal_rows(20, seed=4)
    rows[:5, 1] += 10.0
    unit = client.post(
        "/v1/models/tiny/attributions",
        json={"instances": rows.tolist(), "target": {"layer": 1, "unit": 2}},
    )
    assert unit.status_code == 200, unit.text
    found = unit.json()
    assert found["baseline"] == "training mean" and found["steps"] == 32
    assert np.asarray(found["attributions"]).shape == (20, 6) and found["columns"][0] == "c0"
    code = client.post("/v1/models/tiny/embed", json={"instances": rows.tolist()}).json()
    np.testing.assert_allclose(
        found["values"], np.asarray(code["embeddings"])[:, 2], rtol=1e-4, atol=1e-5
    )
    delta = np.asarray(found["values"]) - np.asarray(found["baseline_values"])
    sums = np.asarray(found["attributions"]).sum(axis=1)
    np.testing.assert_allclose(np.abs(sums - delta), found["completeness_gap"], atol=1e-9)
    score = client.post(
        "/v1/models/tiny/attributions",
        json={"instances": rows.tolist(), "target": "score", "method": "gradient_x_input"},
    ).json()
    assert score["baseline"] == "reconstruction" and score["steps"] is None
    scores = client.post("/v1/models/tiny/anomalies", json={"instances": rows.tolist()}).json()
    np.testing.assert_allclose(score["values"], scores["scores"], rtol=1e-4)
    top = np.argmax(np.asarray(score["attributions"])[:5], axis=1)
    assert (top == 1).all()  # the column that was shifted drives the score


def test_a_traversal_moves_one_code_unit(client: TestClient, trained: dict[str, Any]) -> None:
    answer = client.post("/v1/models/tiny/traverse", json={"unit": 1, "values": [-1.0, 0.0, 1.0]})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [code[1] for code in found["codes"]] == [-1.0, 0.0, 1.0]
    assert np.asarray(found["reconstructions"]).shape == (3, 6)
    row = normal_rows(1, seed=8)[0].tolist()
    keep = client.post(
        "/v1/models/tiny/traverse", json={"unit": 0, "values": [3.0], "instance": row}
    )
    code = client.post("/v1/models/tiny/embed", json={"instances": [row]}).json()["embeddings"][0]
    np.testing.assert_allclose(keep.json()["codes"][0][1:], code[1:], rtol=1e-5)


def test_unit_examples_are_the_kept_calibration_rows_ranked(
    client: TestClient, trained: dict[str, Any]
) -> None:
    answer = client.get("/v1/models/tiny/layers/0/units/5/examples", params={"k": 4})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["n_rows"] == 60 and len(found["top"]) == len(found["bottom"]) == 4
    top = [example["activation"] for example in found["top"]]
    assert top == sorted(top, reverse=True) and top[0] >= found["bottom"][0]["activation"]
    values = [example["values"] for example in found["top"]]
    again = client.post("/v1/models/tiny/embed", json={"instances": values, "layer": 0}).json()
    np.testing.assert_allclose(np.asarray(again["embeddings"])[:, 5], top, rtol=1e-4, atol=1e-5)


def test_cka_between_versions(client: TestClient, trained: dict[str, Any]) -> None:
    same = client.get("/v1/models/tiny/compare", params={"a": 1, "b": 1})
    assert same.status_code == 200, same.text
    assert abs(same.json()["code_cka"] - 1.0) <= 1e-9 and same.json()["rows"] == 60
    assert all(abs(v - 1.0) <= 1e-9 for v in same.json()["layers_cka"])
    other = start_run(client, trained["dataset"]["id"], "tiny", training={"epochs": 3, "seed": 9})
    version = wait_for_run(client, other["id"])["model_version"]
    changed = client.get("/v1/models/tiny/compare", params={"a": 1, "b": version}).json()
    assert 0.0 < changed["code_cka"] < 1.0 - 1e-6 and len(changed["layers_cka"]) == 3


def test_what_cannot_be_answered_is_refused_by_name(
    client: TestClient, trained: dict[str, Any]
) -> None:
    rows = normal_rows(2).tolist()
    bad_layer = {"instances": rows, "target": {"layer": 9, "unit": 0}}
    assert (
        "layer"
        in is_problem(client.post("/v1/models/tiny/attributions", json=bad_layer), 422)["detail"]
    )
    bad_unit = {"instances": rows, "target": {"layer": 1, "unit": 3}}
    assert (
        "unit"
        in is_problem(client.post("/v1/models/tiny/attributions", json=bad_unit), 422)["detail"]
    )
    narrow = {"instances": [[1.0, 2.0]], "target": "score"}
    assert "instances" in str(
        is_problem(client.post("/v1/models/tiny/attributions", json=narrow), 422)
    )
    ragged = {"instances": [[1.0] * 6, [1.0] * 5], "target": "score"}
    is_problem(client.post("/v1/models/tiny/attributions", json=ragged), 422)
    method = {"instances": rows, "target": "score", "method": "shap"}
    assert "method" in str(
        is_problem(client.post("/v1/models/tiny/attributions", json=method), 422)
    )
    is_problem(client.post("/v1/models/tiny/traverse", json={"unit": 3, "values": [1.0]}), 422)
    is_problem(client.get("/v1/models/tiny/layers/1/units/3/examples"), 422)
    is_problem(client.get("/v1/models/tiny/compare", params={"a": 1, "b": 99}), 404)
    is_problem(client.get("/v1/models/nope/compare", params={"a": 1, "b": 1}), 404)
