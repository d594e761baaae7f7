"""The README quick start, measured: what a default run on cardio flags, over real HTTP.

    python bench/quickstart.py                  # ~1 minute: the README's run, then a score card
    python bench/quickstart.py --set calibration.fence=null --set training.epochs=30

Does what the README's quick start does, in a temporary directory: writes `cardio.csv` (1,831
rows, 21 columns f0…f20; the labels stay here), runs `hourglass db upgrade` and `hourglass serve`
(SQLite, the embedded trainer), uploads the CSV as a multipart `file`, posts the README's run,
waits for it, and posts every row to `anomalies` as one `.npy` body. Against the labels (176
anomalies, 9.6 %): how many anomalies and how many inliers are flagged at the run's alpha, and
what the run's metrics say (threshold, calibration rows, rows beyond the fence, warnings); then
the README's own request: rows 1650–1659 (5 inliers, 5 anomalies) with `explain=3`.

Only 127.0.0.1 is contacted; the data is read from ../shared/bench-data and never copied into
the repository.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

CARDIO = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "6_cardio.npz"
BIN = Path(sys.executable).parent
README_RUN: dict[str, Any] = {"dataset_id": 1, "model_name": "cardio"}
README_ROWS = slice(1650, 1660)  # the README's rows.npy: 5 inliers, then 5 labelled anomalies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def overrides(pairs: list[str]) -> dict[str, Any]:
    """`section.field=json` pairs as config sections."""
    sections: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = json.loads(value)
    return sections


def wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("hourglass serve exited")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("hourglass serve did not become ready")


def wait_run(client: httpx.Client, run_id: int) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.5)


def score_card(answer: dict[str, Any], y: np.ndarray) -> dict[str, Any]:
    flags = np.asarray(answer["is_anomaly"], dtype=bool)
    anomalies, inliers = int(y.sum()), int((y == 0).sum())
    caught = int(flags[y == 1].sum())
    false = int(flags[y == 0].sum())
    return {
        "rule": answer["rule"],
        "alpha": answer["alpha"],
        "threshold": answer["threshold"],
        "flagged": int(flags.sum()),
        "anomalies_flagged": f"{caught} of {anomalies} ({caught / anomalies:.1%})",
        "inliers_flagged": f"{false} of {inliers} (false-positive rate {false / inliers:.2%})",
        "warnings": answer["warnings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], help="section.field=json")
    args = parser.parse_args()
    with np.load(CARDIO, allow_pickle=False) as data:
        x, y = data["X"], data["y"].astype(int).ravel()
    with tempfile.TemporaryDirectory(prefix="hourglass-quickstart-") as tmp:
        work = Path(tmp)
        csv = work / "cardio.csv"
        header = ",".join(f"f{i}" for i in range(x.shape[1]))
        np.savetxt(csv, x, delimiter=",", header=header, comments="")
        port = free_port()
        env = os.environ | {
            "HOURGLASS_DATABASE_URL": f"sqlite:///{work / 'hourglass.db'}",
            "HOURGLASS_PORT": str(port),
        }
        subprocess.run([BIN / "hourglass", "db", "upgrade"], env=env, check=True, cwd=work)
        with (work / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [BIN / "hourglass", "serve"], env=env, cwd=work, stdout=log, stderr=log
            )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                wait_ready(client, server)
                with csv.open("rb") as file:
                    dataset = client.post("/v1/datasets", files={"file": file}).json()
                body = README_RUN | {"dataset_id": dataset["id"]} | overrides(args.set)
                started = time.monotonic()
                run = wait_run(client, client.post("/v1/runs", json=body).json()["id"])
                trained = time.monotonic() - started
                buffer = io.BytesIO()
                np.save(buffer, x)
                answer = client.post(
                    "/v1/models/cardio/anomalies",
                    content=buffer.getvalue(),
                    headers={"content-type": "application/x-npy"},
                ).json()
                example = client.post(
                    "/v1/models/cardio/anomalies?explain=3",
                    json={"instances": x[README_ROWS].tolist()},
                ).json()
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(json.dumps({"run": body, "status": run["status"], "seconds": round(trained, 1)}))
    print(json.dumps({"metrics": run["metrics"]}))
    print(json.dumps(score_card(answer, y), indent=1))
    shown = {k: example[k] for k in ("rule", "alpha", "threshold", "is_anomaly", "warnings")}
    shown["p_values"] = [round(p, 4) for p in example["p_values"]]
    shown["labels"] = y[README_ROWS].tolist()
    shown["top_feature"] = [row[0]["feature"] for row in example["explanations"]]
    print(json.dumps({"readme_rows": shown}))


if __name__ == "__main__":
    main()
