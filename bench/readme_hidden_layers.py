"""The README's "Hidden layers" example, on shuttle, through the real service.

    python bench/readme_hidden_layers.py

Trains the default architecture on 5,000 normal shuttle rows (seeded sample), then asks for the
layer statistics, the attributions of the anomaly score of the highest-scoring anomaly among 500
labelled rows, a traversal of code unit 0 and the examples of one encoder unit; prints each answer
trimmed for the README.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
from sweep import service, shuttle  # bench/sweep.py: the service on SQLite, shuttle's rows


def show(title: str, value: Any) -> None:
    print(f"## {title}\n{json.dumps(value, indent=None)}\n")


def short(values: list[float], digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in values]


def main() -> None:
    x, y, normal, others, columns = shuttle(5_000, 500)
    with service(workers=1) as client:
        body = {"name": "shuttle", "columns": columns, "rows": x[normal].tolist()}
        dataset = client.post("/v1/datasets", json=body).json()
        run = client.post(
            "/v1/runs",
            json={
                "dataset_id": dataset["id"],
                "model_name": "shuttle",
                "training": {"epochs": 20, "validation_fraction": 0.1},
            },
        ).json()
        while (run := client.get(f"/v1/runs/{run['id']}").json())["status"] == "queued" or (
            run["status"] == "running"
        ):
            time.sleep(0.5)
        assert run["status"] == "succeeded", run
        layers = client.get("/v1/models/shuttle/layers", params={"stats": "true"}).json()
        show(
            "layers",
            [
                {
                    "index": layer["index"],
                    "name": layer["name"],
                    "width": layer["width"],
                    "dead_units": layer["stats"]["dead_units"],
                    "mean_fire_rate": None
                    if layer["stats"]["fire_rate"] is None
                    else round(float(np.mean(layer["stats"]["fire_rate"])), 3),
                    "active_per_row": None
                    if layer["stats"]["active_per_row"] is None
                    else round(layer["stats"]["active_per_row"], 2),
                    **(
                        {
                            "variance_share": short(layer["stats"]["variance_share"]),
                            "effective_dimension": round(layer["stats"]["effective_dimension"], 2),
                            "max_abs_correlation": round(layer["stats"]["max_abs_correlation"], 3),
                        }
                        if layer["name"] == "code"
                        else {}
                    ),
                }
                for layer in layers
            ],
        )
        epochs = client.get(f"/v1/runs/{run['id']}/epochs").json()["items"]
        show("epochs[0] and epochs[-1] layers", [epochs[0]["layers"], epochs[-1]["layers"]])
        labelled = x[others]
        scores = client.post(
            "/v1/models/shuttle/anomalies", json={"instances": labelled.tolist()}
        ).json()["scores"]
        odd = int(np.argmax(np.where(y[others] == 1, scores, -np.inf)))
        row = labelled[odd].tolist()
        found = client.post(
            "/v1/models/shuttle/attributions",
            json={"instances": [row], "target": "score"},
        ).json()
        show(
            "attributions",
            {
                "row": row,
                "score": round(found["values"][0], 3),
                "baseline": found["baseline"],
                "baseline_value": round(found["baseline_values"][0], 3),
                "attributions": short(found["attributions"][0]),
                "completeness_gap": round(found["completeness_gap"][0], 4),
            },
        )
        explained = client.post(
            "/v1/models/shuttle/anomalies", json={"instances": [row], "explain": 3}
        ).json()
        show("explanations of the same row", explained["explanations"])
        traverse = client.post(
            "/v1/models/shuttle/traverse", json={"unit": 0, "values": [-2.0, 0.0, 2.0]}
        ).json()
        show("traverse", [short(r, 1) for r in traverse["reconstructions"]])
        examples = client.get(
            "/v1/models/shuttle/layers/0/units/0/examples", params={"k": 2}
        ).json()
        show("examples", {k: examples[k] for k in ("n_rows", "top", "bottom")})


if __name__ == "__main__":
    main()
