"""Cost and spread of the data-geometry estimates behind `"auto"` sizes (issue 14).

    python bench/geometry.py

1. `models.geometry.measure` on 50,000 × 100 rows (float32, as the scaler yields them): median
   wall and CPU seconds of 9 calls, one torch thread (target ≤ 100 ms). On a machine shared with
   other processes the wall time is theirs too; the CPU time is this process's own work.
2. TwoNN on a 5-D linear manifold in 20-D (20,000 rows, seeds 0–19): mean, spread, range.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.geometry import measure  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    big = np.random.default_rng(0).normal(size=(50_000, 100)).astype(np.float32)
    measure(big, 0)  # warm-up
    wall, cpu = [], []
    for _ in range(9):
        started, used = time.perf_counter(), time.process_time()
        measure(big, 0)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    print(
        f"measure 50,000 × 100: median {statistics.median(wall) * 1e3:.1f} ms wall, "
        f"{statistics.median(cpu) * 1e3:.1f} ms CPU"
    )
    found = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rows = rng.normal(size=(20_000, 5)) @ rng.normal(size=(5, 20))
        two_nn = measure(rows, seed).two_nn
        assert two_nn is not None
        found.append(two_nn)
    print(
        f"TwoNN, 5-D manifold in 20-D, 20 seeds: mean {statistics.mean(found):.3f}, "
        f"sd {statistics.pstdev(found):.3f}, range {min(found):.2f}–{max(found):.2f}"
    )


if __name__ == "__main__":
    main()
