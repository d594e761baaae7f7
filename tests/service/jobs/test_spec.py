"""One TrainerSpec, built from the settings, for every process that trains."""

from __future__ import annotations

import pickle

import pytest

from service.config import Settings
from service.jobs.spec import TrainerSpec


def _settings(**values: object) -> Settings:
    base: dict[str, object] = {"database_url": "sqlite:///x.db", "torch_threads": None}
    return Settings(**(base | values))  # type: ignore[arg-type]


def test_the_settings_reach_the_spec() -> None:
    settings = _settings(device="cpu", max_attempts=5, log_level="DEBUG", log_format="json")
    spec = TrainerSpec.from_settings(settings, serving=False)
    assert spec.database_url == "sqlite:///x.db"
    assert (spec.device, spec.max_attempts) == ("cpu", 5)
    assert (spec.log_level, spec.log_format) == ("DEBUG", "json")
    assert type(spec.device) is str  # plain data: the spec crosses into spawned processes
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_a_server_shares_the_cores_among_its_embedded_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 9)
    settings = _settings(embedded_workers=2, inference_threads=1)
    served = TrainerSpec.from_settings(settings, serving=True, concurrency=7)
    assert served.torch_threads == (9 - 1) // 2  # the share is the embedded workers'
    alone = TrainerSpec.from_settings(settings, serving=False, concurrency=3)
    assert (alone.torch_threads, alone.concurrency) == (9 // 3, 3)


def test_overrides_win_over_the_settings() -> None:
    spec = TrainerSpec.from_settings(_settings(torch_threads=2), serving=True, nice=10)
    assert (spec.nice, spec.torch_threads) == (10, 2)
    spec = TrainerSpec.from_settings(_settings(), serving=False, torch_threads=6)
    assert spec.torch_threads == 6
