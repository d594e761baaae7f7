"""One training on several processes: the torchrun entry point, and the parent side that runs it.

A training job whose config asks for `training.devices` > 1 is fitted by `fit_with_torchrun`
(`service.jobs.training.fit_detector` chooses it), which
writes the rows and config to a work directory and runs `torchrun_command(...)`:

    python -m torch.distributed.run --standalone --nproc-per-node N -m service.jobs.distributed \
        --rows rows.npy --config config.json --checkpoint detector.ckpt [--columns columns.json] \
        [--epochs epochs.jsonl] [--stop-file cancel]

Every rank (process) loads the rows and config and trains its shard (models/distributed.py); rank 0
writes one JSON line per epoch to --epochs (default stdout), then a last line whose "event" is
"finished" or "failed", and on success the checkpoint. Creating --stop-file makes rank 0's epoch
callback answer "stop", which is how a cancel reaches the processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torch.distributed as dist

from models import Detector, DetectorConfig, EpochCallback, InvalidInput, TrainingDiverged
from models.distributed import fit_distributed
from models.trainer import choose_device

EXPECTED_ERRORS: dict[str, type[Exception]] = {
    "InvalidInput": InvalidInput,
    "TrainingDiverged": TrainingDiverged,
}


def torchrun_command(
    *,
    devices: int,
    rows: Path,
    config: Path,
    checkpoint: Path,
    columns: Path | None = None,
    epochs: Path | None = None,
    stop_file: Path | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The argv that trains one Detector in `devices` processes on this machine."""
    argv = [python, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={devices}"]
    argv += ["-m", "service.jobs.distributed", "--rows", str(rows), "--config", str(config)]
    argv += ["--checkpoint", str(checkpoint)]
    for flag, path in (("--columns", columns), ("--epochs", epochs), ("--stop-file", stop_file)):
        if path is not None:
            argv += [flag, str(path)]
    return argv


# -- the parent side ------------------------------------------------------------------------------


def fit_with_torchrun(
    x: np.ndarray,
    *,
    config: DetectorConfig,
    columns: Sequence[str] | None,
    callback: EpochCallback | None,
    workdir: Path,
) -> Detector:
    """Train in `config.training.devices` processes; epochs go to `callback`; True cancels."""
    np.save(workdir / "rows.npy", np.ascontiguousarray(x), allow_pickle=False)
    (workdir / "config.json").write_text(json.dumps(config.to_dict()))
    (workdir / "columns.json").write_text(json.dumps(list(columns) if columns else None))
    argv = torchrun_command(
        devices=config.training.devices,
        rows=workdir / "rows.npy",
        config=workdir / "config.json",
        checkpoint=workdir / "detector.ckpt",
        columns=workdir / "columns.json",
        stop_file=workdir / "stop",
    )
    with (
        (workdir / "stderr.log").open("w") as stderr,
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True) as proc,
    ):
        assert proc.stdout is not None
        last = _follow(proc.stdout, callback, workdir / "stop")
        code = proc.wait()
    if last.get("event") == "failed":
        error = EXPECTED_ERRORS.get(last["type"], RuntimeError)
        raise error(last["message"])
    if code != 0 or last.get("event") != "finished":
        tail = (workdir / "stderr.log").read_text()[-2000:]
        raise RuntimeError(f"distributed training exited with status {code}: {tail}")
    return Detector.from_bytes((workdir / "detector.ckpt").read_bytes())


def _follow(lines: IO[str], callback: EpochCallback | None, stop_file: Path) -> dict[str, Any]:
    """Hand each epoch line to `callback` (creating `stop_file` when it says stop); the last line."""
    last: dict[str, Any] = {}
    for line in lines:
        if not line.startswith("{"):
            continue  # not ours: a library wrote to stdout
        last = json.loads(line)
        if last.get("event") == "epoch" and callback is not None:
            args = (last["epoch"], last["train_loss"], last["val_loss"], last["seconds"])
            if callback(*args):
                stop_file.touch()
    return last


# -- the torchrun side ----------------------------------------------------------------------------


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m service.jobs.distributed")
    parser.add_argument("--rows", type=Path, required=True, help=".npy file of rows (n, d)")
    parser.add_argument("--config", type=Path, required=True, help="DetectorConfig as JSON")
    parser.add_argument("--checkpoint", type=Path, required=True, help="where rank 0 writes it")
    parser.add_argument("--columns", type=Path, help="JSON list of column names (or null)")
    parser.add_argument("--epochs", type=Path, help="JSON lines of epochs (default: stdout)")
    parser.add_argument("--stop-file", type=Path, help="training stops once this file exists")
    return parser.parse_args(argv)


def _start_process_group(requested: str) -> torch.device:
    """Join torchrun's group: nccl and the LOCAL_RANK-th GPU on CUDA, gloo on the CPU."""
    device = choose_device(requested)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def _epoch_writer(out: IO[str], stop_file: Path | None) -> EpochCallback:
    def on_epoch(epoch: int, train_loss: float, val_loss: float | None, seconds: float) -> bool:
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss}
        _write(out, {"event": "epoch", **record, "seconds": seconds})
        return stop_file is not None and stop_file.exists()

    return on_epoch


def _write(out: IO[str], event: dict[str, Any]) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()  # the parent follows the lines as they come


def _train(
    args: argparse.Namespace, config: DetectorConfig, out: IO[str], device: torch.device
) -> Detector:
    rank = dist.get_rank()
    rows = np.load(args.rows, allow_pickle=False)
    columns = json.loads(args.columns.read_text()) if args.columns else None
    callback = _epoch_writer(out, args.stop_file) if rank == 0 else None
    detector = fit_distributed(Detector(config), rows, columns, callback, device=device)
    if rank == 0:
        args.checkpoint.write_bytes(detector.to_bytes())
    return detector


def main(argv: Sequence[str] | None = None) -> int:
    """Train this rank's part; rank 0 reports epochs and writes the checkpoint."""
    args = _parse(argv)
    torch.set_num_threads(int(os.environ.get("HOURGLASS_TORCH_THREADS") or 1))
    config = DetectorConfig.from_dict(json.loads(args.config.read_text()))
    device = _start_process_group(config.training.device)
    out = args.epochs.open("a") if args.epochs else sys.stdout
    rank = dist.get_rank()
    try:
        det = _train(args, config, out, device)
        if rank == 0:
            _write(
                out, {"event": "finished", "stopped": det.stopped_, "best_epoch": det.best_epoch_}
            )
        return 0
    except (InvalidInput, TrainingDiverged) as exc:  # every rank meets these alike
        if rank == 0:
            _write(out, {"event": "failed", "type": type(exc).__name__, "message": str(exc)})
        return 1
    finally:
        dist.destroy_process_group()
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    sys.exit(main())
