"""Sweeps over HTTP (issue 14): Optuna asks, each trial is an ordinary run, ASHA prunes, the best
trial becomes a version; refusals name the field."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from tests.service.conftest import is_problem, normal_rows, upload_rows, wait_until_finished

BASE = {
    "architecture": {"hidden_layers": [16], "dropout": 0.0},
    "training": {"epochs": 9, "batch_size": 64},
    "calibration": {"fraction": 0.2},
}


def wait_for_sweep(client: TestClient, sweep_id: int, timeout: float = 300) -> dict[str, Any]:
    return wait_until_finished(client, f"/v1/sweeps/{sweep_id}", timeout)


def start_sweep(client: TestClient, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/sweeps", json=body)
    assert answer.status_code == 202, answer.text
    made: dict[str, Any] = answer.json()
    return made


def test_a_sweep_runs_its_trials_as_runs_and_registers_the_best(client: TestClient) -> None:
    dataset = upload_rows(client, normal_rows(400), name="sweep-rows")
    made = start_sweep(
        client,
        dataset_id=dataset["id"],
        model_name="swept",
        base=BASE,
        space={"architecture.code_size": {"int": [1, 4]}},
        trials=5,
        pruning="asha",
        parallel=2,
    )
    assert made["status"] == "queued" and made["trials"] == 5
    sweep = wait_for_sweep(client, made["id"])
    assert sweep["status"] == "succeeded", sweep
    trials = sweep["trial_runs"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3, 4]
    assert {t["state"] for t in trials} <= {"complete", "pruned"}
    for trial in trials:
        run = client.get(f"/v1/runs/{trial['run_id']}").json()
        assert run["sweep_id"] == sweep["id"] and run["trial_number"] == trial["number"]
        assert (
            run["config"]["architecture"]["code_size"] == trial["params"]["architecture.code_size"]
        )
        if trial["state"] == "pruned":
            assert (
                trial["pruned_at_epoch"] in (1, 3) and trial["epochs"] == trial["pruned_at_epoch"]
            )
            assert run["status"] == "cancelled"
        else:
            assert trial["objective"] == run["metrics"]["val_loss"] and trial["epochs"] == 9
    complete = [t for t in trials if t["state"] == "complete"]
    best = min(complete, key=lambda t: t["objective"])
    assert sweep["best"]["trial_number"] == best["number"]
    assert sweep["epochs_planned"] == 45 and sweep["epochs_trained"] == sum(
        t["epochs"] for t in trials
    )
    versions = client.get("/v1/models/swept").json()["versions"]
    assert [v["version"] for v in versions] == [sweep["model_version"]] == [1]
    assert versions[0]["run_id"] == best["run_id"]
    assert client.get("/v1/sweeps").json()["total"] >= 1
    answer = client.post("/v1/models/swept/embed", json={"instances": normal_rows(2).tolist()})
    assert answer.status_code == 200


def test_the_knee_objective_picks_the_smallest_net_with_most_of_the_gain(
    client: TestClient,
) -> None:
    dataset = upload_rows(client, normal_rows(400, seed=5), name="knee-rows")
    made = start_sweep(
        client,
        dataset_id=dataset["id"],
        model_name="knee",
        base=BASE,
        space={"architecture.code_size": {"choice": [1, 2, 4, 6]}},
        trials=4,
        pruning="none",
        objective={"metric": "val_loss_knee"},
    )
    sweep = wait_for_sweep(client, made["id"])
    assert sweep["status"] == "succeeded", sweep
    trials = sweep["trial_runs"]
    losses = [t["objective"] for t in trials]
    bar = max(losses) - 0.8 * (max(losses) - min(losses))
    eligible = [t for t in trials if t["objective"] <= bar + 1e-15]
    expected = min(eligible, key=lambda t: (t["parameters"], t["objective"]))
    assert sweep["best"]["trial_number"] == expected["number"]
    assert all(t["parameters"] > 0 for t in trials)


def test_a_labelled_objective_scores_each_trial(client: TestClient) -> None:
    rng = np.random.default_rng(3)
    dataset = upload_rows(client, normal_rows(400, seed=1), name="train-rows")
    normal = normal_rows(120, seed=2)
    odd = normal_rows(40, seed=3) + rng.normal(scale=3.0, size=(40, 6))
    labelled = np.vstack([np.c_[normal, np.zeros(120)], np.c_[odd, np.ones(40)]])
    columns = [f"c{i}" for i in range(6)] + ["label"]
    answer = client.post(
        "/v1/datasets", json={"name": "labelled", "columns": columns, "rows": labelled.tolist()}
    )
    labels = {"dataset_id": answer.json()["id"], "column": "label"}
    made = start_sweep(
        client,
        dataset_id=dataset["id"],
        model_name="labelled-sweep",
        base=BASE,
        space={"architecture.activation": {"choice": ["relu", "tanh"]}},
        trials=2,
        pruning="none",
        objective={"metric": "roc_auc", "labels": labels},
    )
    sweep = wait_for_sweep(client, made["id"])
    assert sweep["status"] == "succeeded", sweep
    for trial in sweep["trial_runs"]:
        assert 0.5 < trial["objective"] <= 1.0 and 0.5 < trial["holdout"] <= 1.0
    assert sweep["best"]["objective"] == max(t["objective"] for t in sweep["trial_runs"])


def test_a_cancelled_sweep_stops_its_trials(client: TestClient) -> None:
    dataset = upload_rows(client, normal_rows(400), name="cancel-rows")
    base = BASE | {"training": {"epochs": 200}}
    made = start_sweep(
        client,
        dataset_id=dataset["id"],
        model_name="cancelled-sweep",
        base=base,
        space={"architecture.code_size": {"int": [1, 3]}},
        trials=6,
        pruning="none",
    )
    cancelled = client.post(f"/v1/sweeps/{made['id']}/cancel")
    assert cancelled.status_code == 202
    sweep = wait_for_sweep(client, made["id"])
    assert sweep["status"] == "cancelled" and sweep["model_version"] is None
    assert all(t["state"] == "cancelled" for t in sweep["trial_runs"])
    is_problem(client.post(f"/v1/sweeps/{made['id']}/cancel"), 409)
    for trial in sweep["trial_runs"]:  # a finished sweep's trials are runs like any other
        assert client.delete(f"/v1/runs/{trial['run_id']}").status_code == 204
    assert "sweeps" in is_problem(client.delete(f"/v1/datasets/{dataset['id']}"), 409)["detail"]
    is_problem(client.get("/v1/sweeps/999999"), 404)


def test_a_sweep_that_cannot_run_is_refused_by_name(client: TestClient) -> None:
    dataset = upload_rows(client, normal_rows(100), name="refused-rows")
    body = {"dataset_id": dataset["id"], "model_name": "nope"}
    space = {"architecture.code_size": {"int": [1, 3]}}
    cases = [
        ({"space": {"architecture.width": {"int": [1, 3]}}}, "architecture.width"),
        ({"space": {"architecture.code_size": {"int": [4, 1]}}}, "architecture.code_size"),
        ({"space": {"architecture.activation": {"choice": ["wavy"]}}}, "architecture.activation"),
        ({"space": space, "objective": {"metric": "roc_auc"}}, "labels"),
        (
            {
                "space": space,
                "objective": {
                    "metric": "roc_auc",
                    "labels": {"dataset_id": dataset["id"], "column": "c0"},
                },
            },
            "labels",
        ),
    ]
    for extra, named in cases:
        problem = is_problem(client.post("/v1/sweeps", json=body | extra), 422)
        assert named in str(problem), (extra, problem)
