"""Hidden layers over HTTP (issue 14): layer statistics of a version and of every epoch."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


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
