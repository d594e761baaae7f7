"""Training speed: Hourglass `Detector.fit` against PyOD's `AutoEncoder`, at equal work and at defaults.

Run from the repository root (PyOD is in the `bench` extra):

    python bench/train_speed.py            # the README figures (several minutes)
    python bench/train_speed.py --quick    # a short smoke run: fewer rows, 2 epochs, 1 repetition

Both contenders run in this one process with one torch thread (and one OpenMP/MKL thread), timed
interleaved (the order alternates every repetition), so a busy machine slows both alike; every figure
is the median over the repetitions.

Equal work means the same network, optimiser, batch size, epochs and rows:
- network: PyOD's default `hidden_neuron_list=[64, 32]` is d → 64 → 32 → 64 → d with batch norm,
  ReLU and dropout 0.2 after each of the first three Linear layers. Hourglass gets the same four
  Linear layers as `hidden_layers=[64], code_size=32` (batch norm, ReLU, dropout 0.2 around the
  64-wide layers; its code layer is linear, so it does one batch norm + ReLU + dropout less on the
  32-wide code). A second Hourglass row, `hidden_layers=[64, 32], code_size=32`, does strictly more
  work than PyOD (six Linear layers).
- optimiser: Adam, learning rate 1e-3, weight decay 1e-5 (PyOD's defaults), no gradient clipping;
  batch size 32 and 10 epochs (PyOD's defaults); Hourglass: one ensemble member, no validation
  split and no early stopping, the smallest calibration share (1 %).
- rows: Hourglass trains on n_train = n − round(0.01·n) rows (the calibration rows are held out);
  PyOD is fitted on exactly those n_train rows and its DataLoader drops the last partial batch, so
  per epoch PyOD sees ⌊n_train/32⌋·32 rows and Hourglass n_train (up to 31 more).
- after training both score every training row once: PyOD for its contamination threshold,
  Hourglass for `calibration.contamination=0.1` (plus its n − n_train calibration rows).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before torch is imported: one thread for both contenders

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models import Detector, DetectorConfig  # noqa: E402
from models.split import split_rows  # noqa: E402

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=FutureWarning)  # PyOD's own deprecation chatter

import pyod  # noqa: E402
from pyod.models.auto_encoder import AutoEncoder  # noqa: E402

SHUTTLE = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "32_shuttle.npz"
PYOD_EPOCHS = 10  # AutoEncoder(epoch_num=10)
PYOD_BATCH = 32  # AutoEncoder(batch_size=32)


class TimedAutoEncoder(AutoEncoder):  # type: ignore[misc]
    """PyOD's AutoEncoder, unchanged, with the seconds of its training loop recorded."""

    train_seconds = 0.0

    def train(self, train_loader: Any) -> None:
        started = time.perf_counter()
        super().train(train_loader)
        self.train_seconds = time.perf_counter() - started


@dataclass
class Result:
    """One contender on one dataset: what it did and how long it took, over the repetitions."""

    dataset: str
    contender: str
    setup: str
    rows_per_epoch: int = 0
    epochs: int = 0
    params: int = 0
    fit: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    loop: list[float] = field(default_factory=list)

    @property
    def fit_s(self) -> float:
        return statistics.median(self.fit)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    @property
    def loop_s(self) -> float:
        return statistics.median(self.loop)


def equal_config(hidden: list[int], epochs: int = PYOD_EPOCHS) -> DetectorConfig:
    """PyOD AutoEncoder's defaults in Hourglass terms (see the module docstring)."""
    return DetectorConfig.from_dict(
        {
            "architecture": {
                "hidden_layers": hidden,
                "code_size": 32,
                "activation": "relu",
                "dropout": 0.2,
                "normalization": "batch",
                "variant": "plain",
                "ensemble_size": 1,
            },
            "preprocessing": {"scaling": "standard"},
            "training": {
                "epochs": epochs,
                "batch_size": PYOD_BATCH,
                "learning_rate": 1e-3,
                "weight_decay": 1e-5,
                "optimizer": "adam",
                "validation_fraction": 0.0,
                "early_stopping_patience": 0,
                "gradient_clip": None,
                "device": "cpu",
            },
            # One plain scoring pass, as PyOD's (the default masked score rebuilds each row 9 times).
            "calibration": {
                "fraction": 0.01,
                "contamination": 0.1,
                "scoring": "feature_normalized",
            },
        }
    )


def run_hourglass(res: Result, x: np.ndarray, config: DetectorConfig) -> None:
    cpu = time.thread_time()
    det = Detector(config).fit(x)
    res.cpu.append(time.thread_time() - cpu)
    res.fit.append(det.fit_seconds_)
    res.loop.append(sum(r.seconds for r in det.history_))
    res.epochs = len(det.history_)
    split = split_rows(x.shape[0], det.config_, seed=det.config_.training.seed)
    res.rows_per_epoch = len(split.train)
    res.params = sum(p.numel() for net in det.members_ for p in net.parameters())


def run_pyod(res: Result, x: np.ndarray, **kwargs: Any) -> None:
    model = TimedAutoEncoder(verbose=0, **kwargs)
    started, cpu = time.perf_counter(), time.thread_time()
    model.fit(x)
    res.cpu.append(time.thread_time() - cpu)
    res.fit.append(time.perf_counter() - started)
    res.loop.append(model.train_seconds)
    res.epochs = model.epoch_num
    res.rows_per_epoch = x.shape[0] // model.batch_size * model.batch_size
    res.params = sum(p.numel() for p in model.model.parameters())


def synthetic(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    """Seeded normal-looking rows: a 6-dimensional signal mixed into `d` columns, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 6))
    rows = np.tanh(latent @ rng.normal(size=(6, d))) + 0.05 * rng.normal(size=(n, d))
    return (rows * rng.uniform(0.5, 20.0, size=d) + rng.normal(0.0, 5.0, size=d)).astype(np.float32)


def bench_dataset(name: str, x: np.ndarray, repeats: int, epochs: int) -> list[Result]:
    n = x.shape[0]
    hg = equal_config([64], epochs)
    hg_heavy = equal_config([64, 32], epochs)
    train_rows = split_rows(n, hg, seed=hg.training.seed).train
    x_pyod = x[train_rows]  # PyOD fits on exactly the rows Hourglass trains on
    eq_hg = Result(name, "Hourglass", "equal work: [64] + code 32")
    eq_heavy = Result(name, "Hourglass", "more work: [64, 32] + code 32")
    eq_pyod = Result(name, "PyOD", "equal work: [64, 32]")
    df_hg = Result(name, "Hourglass", "own defaults")
    df_pyod = Result(name, "PyOD", "own defaults")
    runs: list[Callable[[], None]] = [
        lambda: run_hourglass(eq_hg, x, hg),
        lambda: run_pyod(
            eq_pyod,
            x_pyod,
            epoch_num=epochs,
            batch_size=PYOD_BATCH,
            hidden_neuron_list=[64, 32],
            batch_norm=True,
            dropout_rate=0.2,
            hidden_activation_name="relu",
            lr=1e-3,
            optimizer_params={"weight_decay": 1e-5},
            contamination=0.1,
            device="cpu",
        ),
        lambda: run_hourglass(eq_heavy, x, hg_heavy),
        lambda: run_hourglass(df_hg, x, DetectorConfig()),
        lambda: run_pyod(df_pyod, x),
    ]
    for rep in range(repeats):
        order = runs if rep % 2 == 0 else runs[::-1]  # alternate who goes first
        for run in order:
            run()
        print(f"  {name}: repetition {rep + 1}/{repeats} done", file=sys.stderr, flush=True)
    return [eq_hg, eq_pyod, eq_heavy, df_hg, df_pyod]


def warm_up() -> None:
    """One tiny fit of each, so one-time initialisation is not charged to the first contender."""
    x = synthetic(512, 8, seed=1)
    Detector(equal_config([64], epochs=1)).fit(x)
    AutoEncoder(verbose=0, epoch_num=1).fit(x)


def table(results: list[Result]) -> str:
    head = (
        "| dataset | contender | setup | params | rows/epoch × epochs | fit s | train loop s "
        "| fit CPU s | epochs/s | rows/s | fit ÷ PyOD | loop ÷ PyOD | CPU ÷ PyOD |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for dataset in dict.fromkeys(r.dataset for r in results):
        group = [r for r in results if r.dataset == dataset]
        for r in group:
            defaults = r.setup == "own defaults"
            pyod = next(
                p
                for p in group
                if p.contender == "PyOD" and (p.setup == "own defaults") == defaults
            )
            ratios = (
                ("", "", "")
                if r is pyod
                else (
                    f"**{r.fit_s / pyod.fit_s:.2f}**",
                    f"{r.loop_s / pyod.loop_s:.2f}",
                    f"{r.cpu_s / pyod.cpu_s:.2f}",
                )
            )
            rows = r.rows_per_epoch * r.epochs
            lines.append(
                f"| {r.dataset} | {r.contender} | {r.setup} | {r.params:,} "
                f"| {r.rows_per_epoch:,} × {r.epochs} | {r.fit_s:.2f} | {r.loop_s:.2f} "
                f"| {r.cpu_s:.2f} | {r.epochs / r.fit_s:.2f} | {rows / r.fit_s:,.0f} "
                f"| {' | '.join(ratios)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows, 2 epochs, 1 repetition")
    parser.add_argument(
        "--repeats", type=int, default=None, help="repetitions (default 3, quick 1)"
    )
    parser.add_argument("--shuttle", type=Path, default=SHUTTLE, help="path to 32_shuttle.npz")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    epochs = 2 if args.quick else PYOD_EPOCHS
    shuttle = np.load(args.shuttle, allow_pickle=False)["X"]
    n_synth = 20_000 if args.quick else 200_000
    datasets = {
        f"shuttle {shuttle.shape[0]:,}×{shuttle.shape[1]}": shuttle,
        f"synthetic {n_synth:,}×32": synthetic(n_synth),
    }
    if args.quick:
        datasets = {
            "shuttle 10,000×9 (quick)": shuttle[:10_000],
            f"synthetic {n_synth:,}×32 (quick)": datasets[f"synthetic {n_synth:,}×32"],
        }
    warm_up()
    results: list[Result] = []
    for name, x in datasets.items():
        results += bench_dataset(name, np.ascontiguousarray(x), repeats, epochs)
    print(
        f"torch {torch.__version__}, pyod {pyod.__version__}, {torch.get_num_threads()} torch "
        f"thread, CPU; median of {repeats} interleaved repetition(s); "
        f"equal work = {epochs} epochs of batch {PYOD_BATCH} over the same n_train rows "
        f"(rows/epoch × epochs below), Adam 1e-3, weight decay 1e-5, then one scoring pass "
        f"over the training rows; see the module docstring.\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
