"""API keys: created once and shown once, stored as sha256 hashes, scoped admin/train/infer."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from sqlalchemy.orm import Session

from service.errors import BadInput, Forbidden, StartRefused, Unauthenticated
from service.store import keys as store
from service.store.db import SessionFactory, transaction
from service.store.tables import ApiKey

SCOPES = ("admin", "train", "infer")
# A scope grants itself and every scope to its right: admin ⊇ train ⊇ infer.
GRANTS = {scope: set(SCOPES[i:]) for i, scope in enumerate(SCOPES)}
TOKEN_PREFIX = "hg_"
MIN_TOKEN_LENGTH = 32  # a guessable token is no key; ours are 43 random URL-safe characters
PLACEHOLDER = "change-me"  # .env.example's tokens contain it: never a real key
BOOTSTRAP_NAME = "HOURGLASS_API_KEYS"


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


@dataclass(frozen=True)
class Verdict:
    """What the database says about a request's key: are keys enforced, and the key's scope."""

    keys_exist: bool
    scope: str | None  # None: no token sent, or one that is unknown or revoked


def check(verdict: Verdict, *, token_sent: bool, scope: str, open_without_keys: bool) -> None:
    """Raise Unauthenticated/Forbidden unless the verdict grants `scope`.

    With no active key a loopback server (`open_without_keys`) lets every request in; any other
    server refuses them all (protected mode holds while it runs, not only at start-up).
    """
    if not verdict.keys_exist:
        if open_without_keys:
            return
        raise Unauthenticated(
            "no API key is active and this server listens on a non-loopback address: every "
            "request is refused until one exists (`hourglass keys create --scope admin`)"
        )
    if not token_sent:
        raise Unauthenticated()
    if verdict.scope is None:
        raise Unauthenticated("the API key is unknown or revoked")
    if scope not in GRANTS.get(verdict.scope, set()):
        raise Forbidden(f"this route needs the {scope!r} scope; the key has {verdict.scope!r}")


class KeyCache:
    """Verdicts by token hash, in memory: a request's key is checked without the database.

    Cleared when the keys' generation counter moves (a key created or revoked, by this process or
    any other), so a revoked key is refused within the poll interval. Unknown tokens are kept
    too (bounded, least recently used evicted), so guessing costs the database nothing.
    """

    def __init__(self, factory: SessionFactory, size: int = 10_000) -> None:
        self._factory = factory
        self._verdicts: LRUCache[str, Verdict] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self._epoch = 0

    def cached(self, token: str | None) -> Verdict | None:
        """The verdict for `token`, if known since the keys last changed."""
        with self._lock:
            return self._verdicts.get(hash_token(token or ""))

    def load(self, token: str | None) -> Verdict:
        """Ask the database (blocking: call off the event loop) and remember the answer."""
        key_hash = hash_token(token or "")
        with self._lock:
            epoch = self._epoch
        with transaction(self._factory) as session:
            key = store.find_key(session, key_hash) if token else None
            active = key is not None and key.revoked_at is None
            verdict = Verdict(keys_required(session), key.scope if key and active else None)
        with self._lock:
            if self._epoch == epoch:
                self._verdicts[key_hash] = verdict
        return verdict

    def clear(self) -> None:
        """Forget every verdict (a key was created or revoked)."""
        with self._lock:
            self._verdicts.clear()
            self._epoch += 1


@dataclass(frozen=True)
class KeySpec:
    """One entry of HOURGLASS_API_KEYS."""

    scope: str
    token: str


def parse_key_specs(spec: str) -> list[KeySpec]:
    """`scope:token,scope:token` (a bare token is admin), or StartRefused naming the bad entry.

    The message names the entry by its position and scope, never by its token.
    """
    found = []
    for number, item in enumerate(filter(None, (p.strip() for p in spec.split(","))), start=1):
        scope, colon, token = item.partition(":")
        if not colon:
            scope, token = "admin", item
        where = f"{BOOTSTRAP_NAME} entry {number}"
        if scope not in SCOPES:
            raise StartRefused(f"{where}: unknown scope {scope!r}; use {', '.join(SCOPES)}")
        if PLACEHOLDER in token:
            raise StartRefused(f"{where}: the token is the example's placeholder; set a real one")
        if len(token) < MIN_TOKEN_LENGTH:
            raise StartRefused(
                f"{where}: the token has {len(token)} characters; at least {MIN_TOKEN_LENGTH} "
                "are needed (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        found.append(KeySpec(scope, token))
    return found


def bootstrap_keys(session: Session, spec: str) -> tuple[int, int]:
    """Make the keys of HOURGLASS_API_KEYS exactly the active bootstrapped ones: add the new,
    revoke those no longer listed. Returns (added, revoked)."""
    wanted = {hash_token(k.token): k for k in parse_key_specs(spec)}
    added = 0
    for key_hash, key in wanted.items():
        if store.find_key(session, key_hash) is None:
            create_key(session, name=BOOTSTRAP_NAME, scope=key.scope, token=key.token)
            added += 1
    revoked = 0
    for row in store.list_keys(session):
        if row.name == BOOTSTRAP_NAME and row.revoked_at is None and row.key_hash not in wanted:
            store.revoke_key(session, row.id)
            revoked += 1
    return added, revoked
