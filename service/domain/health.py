"""Readiness: the database answers and its schema is at the newest migration."""

from __future__ import annotations

from sqlalchemy import Engine

from service.errors import Unavailable
from service.store.db import ping
from service.store.migrate import is_at_head


def check_ready(engine: Engine, queue_problems: list[str]) -> None:
    """Raise Unavailable unless the database is reachable and migrated to head, and the job
    queue's own training processes are alive."""
    if queue_problems:
        raise Unavailable("; ".join(queue_problems))
    try:
        ping(engine)
        at_head = is_at_head(engine)
    except Exception as exc:
        raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc
    if not at_head:
        raise Unavailable(
            "the database schema is not at the newest migration; run `hourglass db upgrade`"
        )
