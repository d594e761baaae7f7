"""A worker that cannot honour a run's device or devices fails it at once, naming the field."""

from __future__ import annotations

import os

import pytest
import torch

from models import DetectorConfig, InvalidInput
from service.jobs.training import check_capacity


def test_more_processes_than_cores_name_training_devices() -> None:
    config = DetectorConfig.from_dict(
        {"training": {"device": "cpu", "devices": (os.cpu_count() or 1) + 1}}
    )
    with pytest.raises(InvalidInput, match=r"^training\.devices: .* CPU cores"):
        check_capacity(config)
    check_capacity(DetectorConfig.from_dict({"training": {"device": "cpu", "devices": 1}}))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_names_training_device() -> None:
    with pytest.raises(InvalidInput, match=r"^training\.device: cuda .* no CUDA device"):
        check_capacity(DetectorConfig.from_dict({"training": {"device": "cuda"}}))
