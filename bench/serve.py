"""Serving speed: a live `hourglass serve` answering anomalies, against the Detector in process.

    python bench/serve.py            # ~1 minute: starts its own server on an SQLite file
    python bench/serve.py --quick    # fewer requests

It trains one model on cardio (21 features) with `hourglass train`, starts `hourglass serve` on a
free loopback port (one uvicorn worker, one inference thread), and measures over real HTTP:
- single rows: `POST /v1/models/cardio/anomalies` with one JSON row, from 1 and from 4 client
  threads at once; requests/s and latency p50 / p99;
- batches of 1,000 rows, JSON and `.npy` in and out; rows/s.
The baseline, measured in the same run, is the same Detector called in this process (scores and
their p-values), so "÷ in process" is what HTTP, parsing, auth and the version lookup add. The
client runs on the same 2 cores as the server, so it costs the server some of its CPU.
Every loop is bounded in count and time, and only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from models import Detector  # noqa: E402

CARDIO = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "6_cardio.npz"
BIN = Path(sys.executable).parent
NPY = "application/x-npy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(workdir: Path, x: np.ndarray) -> tuple[subprocess.Popen[bytes], str]:
    """Train `cardio` into a fresh SQLite file, then serve it; returns the process and its URL."""
    port = free_port()
    env = os.environ | {
        "HOURGLASS_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "HOURGLASS_PORT": str(port),
        "HOURGLASS_EMBEDDED_WORKERS": "0",
        "HOURGLASS_TORCH_THREADS": "1",
        "HOURGLASS_LOG_LEVEL": "WARNING",
    }
    np.save(workdir / "cardio.npy", x)
    subprocess.run([BIN / "hourglass", "db", "upgrade"], env=env, check=True, capture_output=True)
    train = [BIN / "hourglass", "train", workdir / "cardio.npy", "--model-name", "cardio"]
    subprocess.run(train, env=env, check=True, capture_output=True)
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen([BIN / "hourglass", "serve"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("hourglass serve did not become ready")


def latencies(call: Callable[[], object], n: int, clients: int) -> tuple[float, list[float]]:
    """Run `call` n times from `clients` threads; (seconds in all, per-call seconds)."""

    def timed(_: int) -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        each = list(pool.map(timed, range(n)))
    return time.perf_counter() - started, each


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q))


def npy_bytes(x: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, x)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    x = np.load(CARDIO, allow_pickle=False)["X"].astype(np.float32)
    n_single, n_batch = (200, 10) if args.quick else (2_000, 60)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp), x)
        try:
            rows += measure(url, x, n_single, n_batch)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"torch {torch.__version__}, one inference thread; cardio {x.shape[0]}×{x.shape[1]}\n")
    print("| request | clients | requests | req/s | rows/s | p50 ms | p99 ms | ÷ in process |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)


def measure(url: str, x: np.ndarray, n_single: int, n_batch: int) -> list[str]:
    """Every table row: HTTP figures and the in-process baseline beside them."""
    local = Detector().fit(x)  # the default config `hourglass train` used, on the same rows
    client = httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=8))
    path = "/v1/models/cardio/anomalies"
    one = {"instances": x[:1].tolist()}
    batch_json = {"instances": x[:1000].tolist()}
    batch_npy = npy_bytes(x[:1000])
    single = lambda: client.post(path, json=one).raise_for_status()  # noqa: E731
    latencies(single, 50, 1)  # warm-up: the first request loads the checkpoint
    out = []
    base_one = timed_local(local, x[:1], 500)
    for clients in (1, 4):
        seconds, each = latencies(single, n_single, clients)
        out.append(row("1 JSON row", clients, n_single, seconds, each, 1, base_one))
    base_batch = timed_local(local, x[:1000], 50)
    json_call = lambda: client.post(path, json=batch_json).raise_for_status()  # noqa: E731
    headers = {"content-type": NPY, "accept": NPY}
    npy_call = lambda: client.post(path, content=batch_npy, headers=headers).raise_for_status()  # noqa: E731
    for name, call in (("1,000 JSON rows", json_call), ("1,000 rows .npy", npy_call)):
        seconds, each = latencies(call, n_batch, 1)
        out.append(row(name, 1, n_batch, seconds, each, 1000, base_batch))
    client.close()
    return out


def timed_local(detector: Detector, rows: np.ndarray, n: int) -> float:
    """Median seconds of the anomalies answer in this process: scores, then their p-values."""
    each = []
    for _ in range(n):
        started = time.perf_counter()
        detector.calibration_.p_values(detector.score(rows))
        each.append(time.perf_counter() - started)
    return statistics.median(each)


def row(
    name: str, clients: int, n: int, seconds: float, each: list[float], size: int, base: float
) -> str:
    p50 = quantile(each, 0.5)
    return (
        f"| {name} | {clients} | {n:,} | {n / seconds:,.0f} | {n * size / seconds:,.0f} "
        f"| {1000 * p50:.2f} | {1000 * quantile(each, 0.99):.2f} | {p50 / base:.1f}× |"
    )


if __name__ == "__main__":
    main()
