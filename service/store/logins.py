"""Queries on dashboard logins (only hashes of their ids are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.store.db import insert
from service.store.tables import ApiKey, Login, utcnow


def add_login(session: Session, *, login_hash: str, key_id: int, expires_at: datetime) -> Login:
    """Insert a login."""
    return insert(session, Login(login_hash=login_hash, key_id=key_id, expires_at=expires_at))


def scope_of(session: Session, login_hash: str) -> str | None:
    """The scope of the key behind an unexpired login whose key is not revoked, else None."""
    query = (
        select(ApiKey.scope)
        .join(Login, Login.key_id == ApiKey.id)
        .where(
            Login.login_hash == login_hash,
            Login.expires_at > utcnow(),
            ApiKey.revoked_at.is_(None),
        )
    )
    return session.scalar(query)


def delete_login(session: Session, login_hash: str) -> None:
    """Forget a login (log out)."""
    session.execute(delete(Login).where(Login.login_hash == login_hash))


def delete_expired(session: Session) -> None:
    """Forget every expired login."""
    session.execute(delete(Login).where(Login.expires_at <= utcnow()))
