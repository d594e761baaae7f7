"""Cost of the layer statistics (issue 14): end of training, and the per-epoch subset.

    python bench/introspect.py

1. `layer_statistics` of a 64-32-8 dense net (relu, batch norm) on 10,000 rows × 20 columns:
   the median of 7 calls (target ≤ 1 s on 2 cores).
2. The per-epoch subset on shuttle (49,097 × 9, default architecture, 10 epochs): the seconds
   spent inside `epoch_statistics` during a monitored fit over the seconds of its epochs (target
   ≤ 3 %); and whole fits with and without `on_layers`, interleaved, median of 3 (that one is
   at the mercy of other processes on a shared machine).
One torch thread (HOURGLASS_TORCH_THREADS is the service's; here torch.set_num_threads(1)).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models import (  # noqa: E402
    ArchitectureConfig,
    Autoencoder,
    Detector,
    DetectorConfig,
    introspect,
)
from models.introspect import layer_statistics  # noqa: E402

SHUTTLE = Path(os.environ.get("HOURGLASS_BENCH_DATA", "/work/shared/bench-data")) / "32_shuttle.npz"


def final_statistics_seconds() -> float:
    torch.manual_seed(0)
    arch = ArchitectureConfig(hidden_layers=(64, 32), code_size=8, dropout=0.0)
    net = Autoencoder(20, arch).eval()
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(10_000, 20)).astype(np.float32))
    times = []
    for _ in range(7):
        started = time.perf_counter()
        layer_statistics(net, x, source="bench")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def in_situ_share(x: np.ndarray) -> tuple[float, float]:
    """Seconds inside `epoch_statistics` during a monitored fit, and in the training epochs."""
    spent: list[float] = []
    measure = introspect.epoch_statistics

    def timed(net: torch.nn.Module, rows: torch.Tensor) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return measure(net, rows)
        finally:
            spent.append(time.perf_counter() - started)

    introspect.epoch_statistics = timed  # the Detector calls it through the module
    try:
        config = DetectorConfig.from_dict({"training": {"epochs": 10, "seed": 0}})
        detector = Detector(config).fit(x, on_layers=lambda epoch, stats: None)
    finally:
        introspect.epoch_statistics = measure
    return sum(spent), sum(record.seconds for record in detector.history_)


def fit_seconds(x: np.ndarray, monitored: bool) -> float:
    """Wall seconds of one 10-epoch fit with or without the per-epoch statistics."""
    config = DetectorConfig.from_dict({"training": {"epochs": 10, "seed": 0}})
    started = time.perf_counter()
    layers = (lambda epoch, stats: None) if monitored else None
    Detector(config).fit(x, on_layers=layers)
    return time.perf_counter() - started


def main() -> None:
    torch.set_num_threads(1)
    print(f"layer_statistics, 64-32-8 net, 10,000 rows: {final_statistics_seconds() * 1e3:.1f} ms")
    x = np.load(SHUTTLE)["X"].astype(np.float32)
    stats, epochs = in_situ_share(x)
    print(
        f"shuttle {x.shape}, 10 epochs: {stats * 1e3:.1f} ms in epoch_statistics, "
        f"{epochs:.2f} s in the epochs: overhead {100 * stats / epochs:.2f} %"
    )
    plain, monitored = [], []
    for _ in range(3):  # interleaved: a busy machine slows both alike
        plain.append(fit_seconds(x, monitored=False))
        monitored.append(fit_seconds(x, monitored=True))
    base, extra = statistics.median(plain), statistics.median(monitored)
    print(
        f"whole fits (median of 3, noisy on a shared machine): {base:.2f} s plain, "
        f"{extra:.2f} s monitored ({100 * (extra - base) / base:+.1f} %)"
    )


if __name__ == "__main__":
    main()
