"""API keys: created once and shown once, stored as sha256 hashes, scoped admin/train/infer."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.errors import BadInput, Forbidden, Unauthenticated
from service.store import keys as store
from service.store.tables import ApiKey

SCOPES = ("admin", "train", "infer")
# A scope grants itself and every scope to its right: admin ⊇ train ⊇ infer.
GRANTS = {scope: set(SCOPES[i:]) for i, scope in enumerate(SCOPES)}
TOKEN_PREFIX = "hg_"


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: the token is shown once and never stored."""

    id: int
    name: str
    scope: str
    token: str


def hash_token(token: str) -> str:
    """The stored form of a token (sha256 is enough for 256-bit random tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(session: Session, *, name: str, scope: str, token: str | None = None) -> NewKey:
    """Create a key; `token` is for bootstrapping from HOURGLASS_API_KEYS."""
    if scope not in SCOPES:
        raise BadInput(f"scope must be one of {', '.join(SCOPES)}")
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = store.add_key(
        session, name=name, prefix=token[:8], key_hash=hash_token(token), scope=scope
    )
    return NewKey(row.id, row.name, row.scope, token)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key (hashes only)."""
    return store.list_keys(session)


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key; False if there was no such active key."""
    return store.revoke_key(session, key_id)


def keys_required(session: Session) -> bool:
    """Keys are enforced as soon as one active key exists."""
    return store.count_active_keys(session) > 0


def authorize(session: Session, token: str | None, *, scope: str) -> None:
    """Raise Unauthenticated/Forbidden unless `token` grants `scope` (or no keys exist)."""
    if not keys_required(session):
        return
    if not token:
        raise Unauthenticated()
    key = store.find_key(session, hash_token(token))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("the API key is unknown or revoked")
    if scope not in GRANTS.get(key.scope, set()):
        raise Forbidden(f"this route needs the {scope!r} scope; the key has {key.scope!r}")


def bootstrap_keys(session: Session, spec: str) -> int:
    """Add keys from `scope:token,scope:token` (a bare token is admin); returns how many were new."""
    added = 0
    for item in filter(None, (part.strip() for part in spec.split(","))):
        scope, _, token = item.partition(":")
        if scope not in SCOPES or not token:
            scope, token = "admin", item
        if store.find_key(session, hash_token(token)) is None:
            create_key(session, name="HOURGLASS_API_KEYS", scope=scope, token=token)
            added += 1
    return added
