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
    database_timeout: float = 30.0  # longest wait for one answer of the database while training
    nice: int = 0  # > 0 for the server's own training processes: inference comes first

    @classmethod
    def from_settings(
        cls, settings: Settings, *, serving: bool, concurrency: int = 1, **overrides: Any
    ) -> TrainerSpec:
        """The spec the settings describe for a process that trains `concurrency` runs at once
        (beside a server's serving, or not), with `overrides` (e.g. `nice`) applied."""
        share = settings.embedded_workers if serving else concurrency
        values: dict[str, Any] = {
            "database_url": settings.database_url,
            "device": settings.device.value,
            "concurrency": concurrency,
            "torch_threads": settings.training_threads(share=share, serving=serving),
            "max_attempts": settings.max_attempts,
            "log_level": settings.log_level,
            "log_format": settings.log_format,
        }
        return cls(**(values | overrides))
