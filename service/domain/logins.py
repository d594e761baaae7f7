"""Dashboard logins: an API key (any scope: each grants `infer`) is exchanged once for a random
login id that the browser keeps in an HttpOnly cookie; only the id's sha256 is stored, with the
key it came from (revoking the key ends its logins) and an expiry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.domain.keys import Verdict, hash_token, keys_required
from service.errors import Unauthenticated
from service.store import keys as key_store
from service.store import logins as store
from service.store.db import SessionFactory, transaction
from service.store.tables import utcnow

COOKIE = "hourglass_login"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class NewLogin:
    """A login id (shown to the browser once, in its cookie) and when it expires."""

    id: str
    expires_at: datetime
    scope: str


def log_in(session: Session, token: str) -> NewLogin:
    """Exchange an active API key for a new login."""
    key = key_store.find_key(session, hash_token(token))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("the API key is unknown or revoked")
    store.delete_expired(session)
    login_id = secrets.token_urlsafe(32)
    expires_at = utcnow() + LIFETIME
    store.add_login(session, login_hash=hash_token(login_id), key_id=key.id, expires_at=expires_at)
    return NewLogin(login_id, expires_at, key.scope)


def scope_of(session: Session, login_id: str | None) -> str | None:
    """The scope a login grants (None: no login, expired, or its key revoked)."""
    return store.scope_of(session, hash_token(login_id)) if login_id else None


def log_out(session: Session, login_id: str | None) -> None:
    """End a login."""
    if login_id:
        store.delete_login(session, hash_token(login_id))


def verdict(factory: SessionFactory, login_id: str) -> Verdict:
    """What the database says about a request that carries a login cookie instead of a key."""
    with transaction(factory) as session:
        return Verdict(keys_required(session), scope_of(session, login_id))
