"""What every training process needs, built once from the settings by an entry point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.config import Settings


@dataclass(frozen=True)
class TrainerSpec:
    """Database, device, thread budget, retries and logging of a training process.

    The embedded executor's children, `hourglass worker` and the server's own workers on
    PostgreSQL all take one; none of them reads settings of its own.
    """

    database_url: str
    device: str = "auto"
    torch_threads: int = 1
    max_attempts: int = 3
    log_level: str = "INFO"
    log_format: str = "text"
    concurrency: int = 1  # runs one `hourglass worker` trains at once
    heartbeat_seconds: float = 5.0
    stalled_seconds: float = 20.0
    shutdown_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainerSpec:
        """The spec the settings describe, with `overrides` (e.g. `concurrency`) applied."""
        values: dict[str, Any] = {
            "database_url": settings.database_url,
            "device": settings.device,
            "torch_threads": settings.torch_threads,
            "max_attempts": settings.max_attempts,
            "log_level": settings.log_level,
            "log_format": settings.log_format,
        }
        return cls(**(values | overrides))
