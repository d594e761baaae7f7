"""Serving speed: `hourglass serve` against a bare route around the same model, side by side.

    python bench/serve.py            # ~4 minutes; --quick: 3 s per measurement instead of 12
    python bench/serve.py --seconds 30

It trains one model on cardio (21 features, the default config) with `hourglass train`, then
starts two servers on the same checkpoint, each one uvicorn worker (uvloop, httptools), one torch
thread, pinned to core 0 (`taskset`):
- Hourglass: `hourglass serve` on an SQLite file (no training processes, no API key);
- bare: bench/bare_server.py, which reads the body with orjson or numpy, calls the Detector and
  writes orjson or `.npy`: no database, no auth, no validation.
The load comes from `wrk` (Debian's package) pinned to core 1, so the client costs the servers no
CPU. For each request kind both servers get the same wrk runs, in three alternating slices (so a
burst from another process on the machine falls on both alike); the ratio column is Hourglass ÷
bare, the figure that does not move between machines. Then, on an embedded server, how long a
posted run waits in `queued` before a training process has claimed it; last, single rows against
`hourglass serve --workers 1` and `--workers 2` with nothing pinned (what the second core buys).

Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import orjson  # noqa: E402

CARDIO = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "6_cardio.npz"
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3  # alternating slices per request kind and server
NPY = "application/x-npy"
JSON = "application/json"


@dataclass(frozen=True)
class Case:
    """One kind of request: which answer, how many rows, in which encoding, from how many clients."""

    name: str
    route: str  # "embed" or "anomalies"
    rows: int
    npy: bool
    clients: int


CASES = [
    Case("1 JSON row, embed", "embed", 1, False, 8),
    Case("1 JSON row, anomalies", "anomalies", 1, False, 8),
    Case("1,000 JSON rows, embed", "embed", 1_000, False, 4),
    Case("1,000 rows .npy, embed", "embed", 1_000, True, 4),
    Case("10,000 rows .npy, embed", "embed", 10_000, True, 4),
]


@dataclass(frozen=True)
class Load:
    """What wrk measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(core: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


def hourglass_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    return os.environ | {
        "HOURGLASS_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "HOURGLASS_PORT": str(port),
        "HOURGLASS_EMBEDDED_WORKERS": "0",
        "HOURGLASS_TORCH_THREADS": "1",
        "HOURGLASS_INFERENCE_THREADS": "1",
        "HOURGLASS_LOG_LEVEL": "WARNING",
        "HOURGLASS_API_KEYS": "",
        **extra,
    }


def train(workdir: Path, x: np.ndarray) -> Path:
    """Train `cardio` with `hourglass train` and export its checkpoint for the bare server."""
    env = hourglass_env(workdir, free_port())
    np.save(workdir / "cardio.npy", x)
    subprocess.run([BIN / "hourglass", "db", "upgrade"], env=env, check=True, capture_output=True)
    argv = [BIN / "hourglass", "train", workdir / "cardio.npy", "--model-name", "cardio"]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    code = (
        "import sys; from service.store.db import make_engine, make_session_factory, transaction;"
        "from service.domain.registry import resolve_ref, load_checkpoint;"
        "f = make_session_factory(make_engine(sys.argv[1]));"
        "s = transaction(f).__enter__(); v = resolve_ref(s, 'cardio')[1];"
        "open(sys.argv[2], 'wb').write(load_checkpoint(s, v))"
    )
    checkpoint = workdir / "cardio.ckpt"
    subprocess.run(
        [sys.executable, "-c", code, env["HOURGLASS_DATABASE_URL"], str(checkpoint)], check=True
    )
    return checkpoint


def start(
    argv: list[str], env: dict[str, str], url: str, log: Path, *, core: int | None = 0
) -> subprocess.Popen[bytes]:
    command = argv if core is None else pinned(core, argv)
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(
                    f"{url}/openapi.json" if "bare" in str(log) else f"{url}/readyz"
                ).status_code
                < 500
            ):
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


def body_file(workdir: Path, x: np.ndarray, case: Case) -> Path:
    rows = x[: case.rows] if case.rows <= x.shape[0] else np.resize(x, (case.rows, x.shape[1]))
    path = workdir / f"{case.rows}-{case.npy}.body"
    if case.npy:
        buffer = io.BytesIO()
        np.save(buffer, rows.astype(np.float64))
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(orjson.dumps({"instances": rows.astype(np.float64).tolist()}))
    return path


def wrk(
    url: str, body: Path, case: Case, seconds: float, workdir: Path, *, core: int | None = 1
) -> Load:
    """One wrk run pinned to `core` (None: anywhere): POST `body` for `seconds` from
    `case.clients` connections."""
    kind = NPY if case.npy else JSON
    script = workdir / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\n'
        f'local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()\n'
        f'wrk.headers["Content-Type"] = "{kind}"\n'
        f'wrk.headers["Accept"] = "{kind}"\n'
    )
    duration = f"-d{max(1, round(seconds))}s"
    argv = ["wrk", "-t1", f"-c{case.clients}", duration, "--latency", "-s", str(script)]
    command = [*argv, url] if core is None else pinned(core, [*argv, url])
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(rate, _latency(out, "50%"), _latency(out, "99%"))


def _latency(out: str, which: str) -> float:
    found = re.search(rf"^\s*{which}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    assert found is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return float(found.group(1)) * scale


def compare(x: np.ndarray, workdir: Path, seconds: float) -> list[tuple[Case, Load, Load]]:
    """Each case against both servers, the same wrk run, one after the other."""
    checkpoint = train(workdir, x)
    ours_port, bare_port = free_port(), free_port()
    ours_url, bare_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{bare_port}"
    ours = start(
        [str(BIN / "hourglass"), "serve"],
        hourglass_env(workdir, ours_port),
        ours_url,
        workdir / "ours.log",
    )
    bare_env = os.environ | {"BARE_CHECKPOINT": str(checkpoint)}
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_server:app", "--port", str(bare_port)]
    bare = start(
        [*uvicorn, "--no-access-log", "--log-level", "warning"],
        bare_env,
        bare_url,
        workdir / "bare.log",
    )
    results = []
    try:
        for case in CASES:
            body = body_file(workdir, x, case)
            paths = (f"{ours_url}/v1/models/cardio/{case.route}", f"{bare_url}/{case.route}")
            for path in paths:  # warm-up: the first request loads the checkpoint
                wrk(path, body, case, 1, workdir)
            results.append((case, *alternating(paths, body, case, seconds, workdir)))
    finally:
        for server in (ours, bare):
            server.terminate()
            server.wait(timeout=30)
    return results


def alternating(
    paths: tuple[str, str], body: Path, case: Case, seconds: float, workdir: Path
) -> tuple[Load, Load]:
    """Both servers in `ROUNDS` alternating slices of `seconds / ROUNDS` each, so a burst of
    load from another process on the machine falls on both alike; throughput is the mean over
    slices, p50 and p99 their medians."""
    slices: tuple[list[Load], list[Load]] = ([], [])
    for _ in range(ROUNDS):
        for path, found in zip(paths, slices, strict=True):
            found.append(wrk(path, body, case, seconds / ROUNDS, workdir))
    return (_combined(slices[0]), _combined(slices[1]))


def _combined(slices: list[Load]) -> Load:
    return Load(
        statistics.fmean(load.requests_per_second for load in slices),
        statistics.median(load.p50_ms for load in slices),
        statistics.median(load.p99_ms for load in slices),
    )


def serving_processes(x: np.ndarray, workdir: Path, seconds: float) -> list[tuple[int, Load]]:
    """Single-row `embed` from 8 clients against `hourglass serve --workers 1` and `2`, nothing
    pinned: what a second serving process buys on this machine (DESIGN.md measured 1.7–2×)."""
    case = CASES[0]
    body = body_file(workdir, x, case)
    found = []
    for workers in (1, 2):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [str(BIN / "hourglass"), "serve", "--workers", str(workers)]
        server = start(argv, hourglass_env(workdir, port), url, workdir / "w.log", core=None)
        try:
            path = f"{url}/v1/models/cardio/{case.route}"
            for _ in range(workers):  # every process loads the checkpoint once
                wrk(path, body, case, 1, workdir, core=None)
            found.append((workers, wrk(path, body, case, seconds, workdir, core=None)))
        finally:
            server.terminate()
            server.wait(timeout=60)
    return found


def queued_to_running(x: np.ndarray, workdir: Path, runs: int = 6) -> list[float]:
    """Seconds from POST /v1/runs to `running` on an idle embedded server (SQLite, 1 worker)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = hourglass_env(workdir, port, HOURGLASS_EMBEDDED_WORKERS="1")
    server = start([str(BIN / "hourglass"), "serve"], env, url, workdir / "embedded.log")
    waits = []
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            rows = {"columns": [f"c{i}" for i in range(x.shape[1])], "rows": x[:200].tolist()}
            dataset = client.post("/v1/datasets", json=rows).json()["id"]
            time.sleep(5)  # the fork server has imported torch
            for i in range(runs):
                config = {"dataset_id": dataset, "model_name": f"q{i}", "training": {"epochs": 2}}
                posted = time.monotonic()
                run = client.post("/v1/runs", json=config).json()["id"]
                while client.get(f"/v1/runs/{run}").json()["status"] == "queued":
                    time.sleep(0.005)
                waits.append(time.monotonic() - posted)
                while client.get(f"/v1/runs/{run}").json()["status"] == "running":
                    time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return waits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per measurement")
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds per measurement")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("bench/serve.py needs wrk (Debian: apt-get install wrk)")
    seconds = 3.0 if args.quick else args.seconds
    x = np.load(CARDIO, allow_pickle=False)["X"].astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        results = compare(x, Path(tmp), seconds)
        waits = queued_to_running(x, Path(tmp))
        processes = serving_processes(x, Path(tmp), seconds)
    print(
        f"cardio {x.shape[0]}×{x.shape[1]}, one uvicorn worker and one torch thread each on core 0,"
    )
    print(f"wrk on core 1, {seconds:.0f} s per measurement\n")
    print(
        "| request | clients | Hourglass req/s | rows/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | throughput ÷ bare | p99 ÷ bare |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, ours, bare in results:
        print(
            f"| {case.name} | {case.clients} | {ours.requests_per_second:,.0f} "
            f"| {ours.requests_per_second * case.rows:,.0f} | {ours.p50_ms:.2f} | {ours.p99_ms:.2f} "
            f"| {bare.requests_per_second:,.0f} | {bare.p50_ms:.2f} | {bare.p99_ms:.2f} "
            f"| **{ours.requests_per_second / bare.requests_per_second:.2f}** "
            f"| {ours.p99_ms / bare.p99_ms:.2f} |"
        )
    single = processes[0][1].requests_per_second
    print(
        "\n| hourglass serve | 1 JSON row embed, 8 clients, req/s | p50 ms | p99 ms | ÷ 1 process |"
    )
    print("|---|---:|---:|---:|---:|")
    for workers, load in processes:
        print(
            f"| --workers {workers} | {load.requests_per_second:,.0f} | {load.p50_ms:.2f} "
            f"| {load.p99_ms:.2f} | {load.requests_per_second / single:.2f} |"
        )
    print(
        f"\nqueued → running on an idle embedded server, 5 s after start-up: first run "
        f"{waits[0]:.3f} s; the next {len(waits) - 1}: median {statistics.median(waits[1:]):.3f} s, "
        f"max {max(waits[1:]):.3f} s"
    )


if __name__ == "__main__":
    main()
