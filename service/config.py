"""Settings read from the environment (prefix HOURGLASS_); only entry points build them."""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.choices import Device


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every knob of the service; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="HOURGLASS_", extra="ignore")

    database_url: str = "sqlite:///./hourglass.db"
    database_timeout: float = Field(default=2.0, gt=0, le=600)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_keys: str = ""
    max_body_mb: float = Field(default=100.0, gt=0)
    max_rows: int = Field(default=100_000, ge=1)
    max_parameters: int = Field(default=20_000_000, ge=1)
    device: Device = Device.auto  # the engine's choices: auto, cpu, cuda
    embedded_workers: int = Field(default=1, ge=0)
    torch_threads: int | None = Field(default=None, ge=1)
    inference_threads: int = Field(default=1, ge=1)
    serve_workers: int = Field(default=1, ge=1, le=64)  # `hourglass serve --workers`
    model_cache_size: int = Field(default=8, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    cancel_grace_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    def training_threads(self, *, share: int, serving: bool) -> int:
        """Torch threads of one training process (DESIGN.md "CPU threads"): TORCH_THREADS if
        set, else the cores divided among the `share` trainings that run at once, less the
        server's inference threads (of every serving process) when the process shares the
        machine with serving."""
        if self.torch_threads is not None:
            return self.torch_threads
        serving_threads = self.inference_threads * self.serve_workers if serving else 0
        free = (os.cpu_count() or 1) - serving_threads
        return max(1, free // max(1, share))

    @property
    def max_body_bytes(self) -> int:
        """The request body cap in bytes."""
        return int(self.max_body_mb * 1024 * 1024)
