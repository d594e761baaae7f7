from __future__ import annotations

import pytest
import torch

from models import DetectorConfig
from models.distributed import _shard, train_distributed


def test_devices_is_validated_like_the_other_training_fields() -> None:
    assert DetectorConfig().training.devices == 1
    assert DetectorConfig.from_dict({"training": {"devices": 4}}).training.devices == 4
    for bad in (0, 65, 1.5, True):
        with pytest.raises(ValueError, match=r"^training\.devices: "):
            DetectorConfig.from_dict({"training": {"devices": bad}})


def test_every_rank_gets_an_equal_shard_and_together_they_cover_every_row() -> None:
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    shards = [_shard(perm, rank, 3) for rank in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]  # equal batches: DDP needs as many steps per rank
    assert set(torch.cat(shards).tolist()) == set(range(7))
    assert torch.equal(_shard(perm, 0, 1), perm)


def test_training_without_a_process_group_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match=r"initialised torch\.distributed group"):
        train_distributed([], torch.zeros(4, 2), None, DetectorConfig().training)
