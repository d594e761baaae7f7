"""Generation counters of cached tables: `registry` (models, versions, aliases) and `keys`.

Every write to those tables bumps its counter in the same transaction and marks the session, so
that the process that wrote drops its caches at commit and every other process drops them when
its poller sees the counter move.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from service.store.tables import Generation

REGISTRY = "registry"
KEYS = "keys"
CHANGED = "hourglass.changed"  # session.info key: the counters this transaction moved


def bump(session: Session, name: str) -> None:
    """Move counter `name` (in the caller's transaction)."""
    session.execute(
        update(Generation).where(Generation.name == name).values(value=Generation.value + 1)
    )
    session.info.setdefault(CHANGED, set()).add(name)


def read_all(connection: Connection) -> dict[str, int]:
    """Every counter's value."""
    rows = connection.execute(select(Generation.name, Generation.value)).all()
    return {name: int(value) for name, value in rows}
