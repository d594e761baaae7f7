"""Two gloo processes under torchrun train the same-quality model as one process (issue 4)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from models import Detector, DetectorConfig
from service.jobs.distributed import fit_with_torchrun, torchrun_command

CARDIO = Path(__file__).parents[4] / "shared" / "bench-data" / "6_cardio.npz"

needs_cardio = pytest.mark.skipif(not CARDIO.exists(), reason=f"{CARDIO} is not here")

torch.set_num_threads(1)


def cardio() -> np.ndarray:
    rows: np.ndarray = np.load(CARDIO, allow_pickle=False)["X"]
    return rows


def config(devices: int, epochs: int = 30) -> DetectorConfig:
    return DetectorConfig.from_dict(
        {
            "architecture": {"dropout": 0.0},
            "training": {
                "epochs": epochs,
                # Batch norm on gloo normalises over each rank's share: 64 rows each, as below.
                "batch_size": 128,
                "device": "cpu",
                "devices": devices,
                "validation_fraction": 0.1,  # the comparison is on validation loss
                "early_stopping_patience": 0,
            },
        }
    )


@needs_cardio
@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    x = cardio()
    started = time.perf_counter()
    one = Detector(config(1)).fit(x)
    one_seconds = time.perf_counter() - started
    seen: list[int] = []

    def callback(epoch: int, train: float, val: float | None, seconds: float) -> bool:
        seen.append(epoch)
        return False

    started = time.perf_counter()
    two = fit_with_torchrun(x, config=config(2), columns=None, callback=callback, workdir=tmp_path)
    two_seconds = time.perf_counter() - started
    sys.stderr.write(
        f"val loss 1 process {one.val_loss_:.5f} ({one_seconds:.1f} s), "
        f"2 processes {two.val_loss_:.5f} ({two_seconds:.1f} s)\n"
    )
    assert seen == list(range(1, 31))
    assert two.val_loss_ == pytest.approx(one.val_loss_, rel=0.10)
    assert not two.stopped_ and two.config_.training.devices == 2
    # The checkpoint rank 0 wrote is a whole Detector: it loads and scores like one.
    loaded = Detector.from_bytes((tmp_path / "detector.ckpt").read_bytes())
    np.testing.assert_allclose(loaded.score(x[:50]), two.score(x[:50]))


@needs_cardio
@pytest.mark.slow
def test_a_callback_answering_stop_cancels_every_process(tmp_path: Path) -> None:
    det = fit_with_torchrun(
        cardio(),
        config=config(2, epochs=200),
        columns=[f"c{i}" for i in range(21)],
        callback=lambda epoch, *_: epoch >= 2,
        workdir=tmp_path,
    )
    assert det.stopped_
    assert 2 <= len(det.history_) < 200
    assert det.columns_[0] == "c0"


@needs_cardio
def test_bad_rows_fail_with_the_engines_message(tmp_path: Path) -> None:
    x = cardio()[:20].copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="row 3"):
        fit_with_torchrun(x, config=config(2), columns=None, callback=None, workdir=tmp_path)


def test_the_command_runs_this_module_under_torchrun(tmp_path: Path) -> None:
    argv = torchrun_command(
        devices=4, rows=tmp_path / "r.npy", config=tmp_path / "c.json", checkpoint=tmp_path / "d"
    )
    assert argv[:5] == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=4",
    ]
    assert argv[5:7] == ["-m", "service.jobs.distributed"]
    assert "--stop-file" not in argv
