"""Queries on API keys (only hashes are stored)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store import generations
from service.store.tables import ApiKey, utcnow


def add_key(session: Session, *, name: str, prefix: str, key_hash: str, scope: str) -> ApiKey:
    """Insert a key row."""
    key = ApiKey(name=name, prefix=prefix, key_hash=key_hash, scope=scope)
    generations.bump(session, generations.KEYS)
    session.add(key)
    session.flush()
    return key


def find_key(session: Session, key_hash: str) -> ApiKey | None:
    """The key with this hash, revoked or not."""
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def count_active_keys(session: Session) -> int:
    """How many keys are not revoked."""
    query = select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
    return session.scalar(query) or 0


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)).all())


def revoke_key(session: Session, key_id: int) -> bool:
    """Mark a key revoked; False when no such active key exists."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    generations.bump(session, generations.KEYS)
    session.flush()
    return True
