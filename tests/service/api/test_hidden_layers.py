"""Hidden layers over HTTP (issue 14): layer statistics of a version and of every epoch,
`"auto"` sizes."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, start_run, upload_rows, wait_for_run


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
    assert set(card["estimates"]) == {
        "pca_90",
        "pca_95",
        "pca_99",
        "participation_ratio",
        "two_nn",
        "mle_k20",
    }
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
