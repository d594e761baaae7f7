"""Settings read from the environment (prefix HOURGLASS_); only entry points build them."""

from __future__ import annotations

import ipaddress
import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_torch_threads() -> int:
    """Cores divided by the trainings that may run at once, at least 1 (DESIGN.md "CPU threads")."""
    cores = os.cpu_count() or 1
    workers = int(os.environ.get("HOURGLASS_EMBEDDED_WORKERS", "1") or 1)
    return max(1, cores // max(1, workers))


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
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_keys: str = ""
    max_body_mb: float = Field(default=100.0, gt=0)
    max_rows: int = Field(default=100_000, ge=1)
    max_parameters: int = Field(default=20_000_000, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    embedded_workers: int = Field(default=1, ge=0)
    torch_threads: int = Field(default_factory=default_torch_threads, ge=1)
    inference_threads: int = Field(default=1, ge=1)
    model_cache_size: int = Field(default=8, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @property
    def max_body_bytes(self) -> int:
        """The request body cap in bytes."""
        return int(self.max_body_mb * 1024 * 1024)
