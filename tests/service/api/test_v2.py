"""KServe V2 / Open Inference Protocol against a live `hourglass serve`, driven by the real
`tritonclient[http]` (binary tensors, its default, and JSON tensors) and by hand-written requests
for what a client library never sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.faults.conftest import FINISHED, TINY, Server, rows, server_env, serving

OUTPUTS = ("embeddings", "reconstructions", "scores", "p_values", "is_anomaly")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    where = tmp_path_factory.mktemp("v2")
    with serving(server_env(f"sqlite:///{where / 'v2.db'}"), where) as live:
        dataset = live.upload(rows(300, 4))
        run = live.post_run(dataset, "tiny", TINY)
        done = live.wait_run(run["id"], lambda r: r["status"] in FINISHED, 120)
        assert done["status"] == "succeeded", done
        yield live


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[triton.InferenceServerClient]:
    url = str(server.client.base_url).removeprefix("http://").rstrip("/")
    made = triton.InferenceServerClient(url=url)
    yield made
    made.close()


def _rows(n: int = 5) -> np.ndarray:
    x = np.asarray(rows(n, 4, seed=7), dtype=np.float32)
    x[0, 2] += 40.0  # one row far outside the training data
    return x


def _input(x: np.ndarray, *, binary: bool, datatype: str = "FP32") -> triton.InferInput:
    tensor = triton.InferInput("input", list(x.shape), datatype)
    tensor.set_data_from_numpy(x, binary_data=binary)
    return tensor


def _v1(server: Server, route: str, x: np.ndarray, **options: Any) -> dict[str, Any]:
    answer = server.client.post(
        f"/v1/models/tiny/{route}", json={"instances": x.tolist(), **options}
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "hourglass"
    assert client.is_model_ready("tiny") and client.is_model_ready("tiny", "1")
    assert not client.is_model_ready("nothing-here")
    meta = client.get_model_metadata("tiny")
    assert meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in meta["outputs"]] == list(OUTPUTS)
    assert meta["outputs"][0]["shape"] == [-1, 3]  # the code


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_answers_as_the_v1_routes(
    client: triton.InferenceServerClient, server: Server, binary: bool
) -> None:
    x = _rows()
    outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in OUTPUTS]
    result = client.infer("tiny", [_input(x, binary=binary)], outputs=outputs, request_id="r7")
    response = result.get_response()
    assert response["model_name"] == "tiny" and response["model_version"] == "1"
    assert response["id"] == "r7"
    found = _v1(server, "anomalies", x)
    np.testing.assert_allclose(result.as_numpy("scores"), found["scores"], rtol=1e-6)
    np.testing.assert_allclose(result.as_numpy("p_values"), found["p_values"])
    assert result.as_numpy("is_anomaly").tolist() == found["is_anomaly"]
    assert response["parameters"]["rule"] == found["rule"]
    assert response["parameters"]["alpha"] == found["alpha"]
    embedded = _v1(server, "embed", x)["embeddings"]
    np.testing.assert_allclose(result.as_numpy("embeddings"), embedded, rtol=1e-5)
    rebuilt = _v1(server, "reconstruct", x)["reconstructions"]
    np.testing.assert_allclose(result.as_numpy("reconstructions"), rebuilt, rtol=1e-5)


def test_only_the_outputs_asked_for_and_parameters(
    client: triton.InferenceServerClient, server: Server
) -> None:
    x = _rows().astype(np.float64)
    result = client.infer(
        "tiny",
        [_input(x, binary=False, datatype="FP64")],
        outputs=[triton.InferRequestedOutput("is_anomaly", binary_data=False)],
        parameters={"alpha": 0.2},
        model_version="1",
    )
    response = result.get_response()
    assert [o["name"] for o in response["outputs"]] == ["is_anomaly"]
    assert response["parameters"]["alpha"] == 0.2
    flags = _v1(server, "anomalies", x, alpha=0.2)["is_anomaly"]
    assert result.as_numpy("is_anomaly").tolist() == flags
    assert flags[0]  # the far row


def test_errors_reach_the_client_as_messages(client: triton.InferenceServerClient) -> None:
    wide = np.ones((2, 5), dtype=np.float32)
    with pytest.raises(InferenceServerException, match="the model expects 4"):
        client.infer("tiny", [_input(wide, binary=True)])
    with pytest.raises(InferenceServerException, match="does not exist"):
        client.infer("nothing-here", [_input(_rows(), binary=True)])
    nan = _rows()
    nan[1, 1] = np.nan
    with pytest.raises(InferenceServerException, match="row 1, column 1: value is NaN"):
        client.infer("tiny", [_input(nan, binary=True)])
    with pytest.raises(InferenceServerException, match="NaN and Infinity are not JSON numbers"):
        client.infer("tiny", [_input(nan, binary=False)])


def _post(server: Server, body: Any, **kwargs: Any) -> httpx.Response:
    return server.client.post("/v2/models/tiny/infer", json=body, **kwargs)


def _tensor(data: Any, shape: list[int], datatype: str = "FP32") -> dict[str, Any]:
    return {"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": data}]}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_tensor([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4]), None),  # nested by row: accepted
        (_tensor([1, 2, 3], [1, 4]), "needs 4 values; data has 3"),
        (_tensor([1, 2, True, 4], [1, 4]), "a boolean is not a number"),
        (_tensor(["a", 2, 3, 4], [1, 4]), "numbers only"),
        (_tensor([1, 2, 3, 4], [1, 4], "INT8"), "datatype"),
        (_tensor(None, [1, 4]), "binary_data_size) is required"),
        (_tensor([1, 2, 3, 4], [1, 4]) | {"outputs": [{"name": "logits"}]}, "outputs"),
        (_tensor([1, 2, 3, 4], [1, 4]) | {"parameters": {"alpha": 2}}, "parameters.alpha"),
        ({"inputs": []}, "inputs"),
    ],
)
def test_hand_written_requests(server: Server, body: Any, says: str | None) -> None:
    response = _post(server, body)
    if says is None:
        assert response.status_code == 200, response.text
        assert len(response.json()["outputs"]) == len(OUTPUTS)
        return
    assert response.status_code in (400, 422), response.text
    assert says in response.json()["error"]


def test_binary_lengths_are_checked(server: Server) -> None:
    head = b'{"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",'
    head += b' "parameters": {"binary_data_size": 32}}]}'
    short = head + np.ones(4, dtype="<f4").tobytes()  # 16 of the 32 bytes
    response = server.client.post(
        "/v2/models/tiny/infer",
        content=short,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert "binary_data_size says 32 and 16 follow" in response.json()["error"]
    beyond = server.client.post(
        "/v2/models/tiny/infer", content=head, headers={"Inference-Header-Content-Length": "9999"}
    )
    assert "not a length within the body" in beyond.json()["error"]


def test_unknown_versions_and_routes_answer_in_the_protocols_error_shape(server: Server) -> None:
    missing = server.client.get("/v2/models/tiny/versions/9")
    assert missing.status_code == 404 and "no version 9" in missing.json()["error"]
    assert server.client.get("/v2/models/tiny/versions/production/ready").status_code == 404
    assert server.client.get("/v2/health/live").json() == {"live": True}
