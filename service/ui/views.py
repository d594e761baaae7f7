"""How values read on a page: durations, losses, times, a run's config by section."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.store.tables import Run


def utc(moment: datetime | None) -> datetime | None:
    """A stored time as UTC (SQLite hands back naive datetimes)."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration(run: Run) -> str:
    """How long the run trained (so far, while it runs); empty before it starts."""
    started, finished = utc(run.started_at), utc(run.finished_at)
    if started is None:
        return ""
    seconds = int(((finished or datetime.now(UTC)) - started).total_seconds())
    minutes, seconds = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def when(moment: datetime | None) -> str:
    """A time as `2026-12-02 15:04:05 UTC`."""
    found = utc(moment)
    return "" if found is None else found.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: float | None) -> str:
    """A loss or score, 4 significant digits."""
    return "" if value is None else f"{value:.4g}"


def config_sections(config: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The resolved config, one (section, [(field, value)]) per section."""
    sections = [(name, sorted(v.items())) for name, v in config.items() if isinstance(v, dict)]
    loose = sorted((k, v) for k, v in config.items() if not isinstance(v, dict))
    return sections + ([("other", loose)] if loose else [])
