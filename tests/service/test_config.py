"""Settings from the environment: the loopback rule of protected mode and the thread budget."""

from __future__ import annotations

import os

import pydantic
import pytest

from service.config import Settings, is_loopback


@pytest.fixture(autouse=True)
def _no_hourglass_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile exports HOURGLASS_TORCH_THREADS=1; these tests set what they read."""
    for name in [n for n in os.environ if n.startswith("HOURGLASS_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.org", "localhost.", ""])
def test_every_other_bind_is_public(host: str) -> None:
    assert not is_loopback(host)


def test_settings_read_the_hourglass_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOURGLASS_DEVICE", "cpu")
    monkeypatch.setenv("HOURGLASS_MAX_ROWS", "12")
    settings = Settings()
    assert settings.device == "cpu" and settings.max_rows == 12


def test_the_device_takes_the_engine_s_choices_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOURGLASS_DEVICE", "gpu")
    with pytest.raises(pydantic.ValidationError, match="auto"):
        Settings()


def test_torch_threads_when_set_is_the_budget_of_every_training() -> None:
    settings = Settings(torch_threads=3)
    assert settings.training_threads(share=4, serving=True) == 3
    assert settings.training_threads(share=1, serving=False) == 3


def test_the_cores_are_shared_after_every_serving_process_s_inference_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    settings = Settings(inference_threads=2, serve_workers=3)
    assert settings.training_threads(share=2, serving=True) == (16 - 2 * 3) // 2
    assert settings.training_threads(share=2, serving=False) == 16 // 2
    assert settings.training_threads(share=0, serving=False) == 16
    assert Settings(inference_threads=20).training_threads(share=1, serving=True) == 1


def test_the_body_cap_is_in_mebibytes() -> None:
    assert Settings(max_body_mb=1.5).max_body_bytes == 1_572_864
