"""The checks a server runs before it serves: schema at head, keys bootstrapped, protected mode."""

from __future__ import annotations

from sqlalchemy import Engine

from service.config import is_loopback
from service.domain import keys
from service.errors import StartRefused
from service.store.db import SessionFactory, transaction
from service.store.migrate import is_at_head


def prepare_to_serve(engine: Engine, factory: SessionFactory, *, api_keys: str, host: str) -> None:
    """Raise StartRefused unless the schema is at head and a non-loopback bind has keys.

    `hourglass serve` runs this before it binds (a refusal is then a message and exit status
    2) and every app's lifespan runs it again; bootstrapping keys is idempotent.
    """
    if not is_at_head(engine):
        raise StartRefused(
            "the database is not at the newest migration: run `hourglass db upgrade`"
        )
    with transaction(factory) as session:
        keys.bootstrap_keys(session, api_keys)
        unprotected = not keys.keys_required(session)
    if unprotected and not is_loopback(host):
        raise StartRefused(
            f"refusing to serve on {host} without API keys: create one with "
            "`hourglass keys create --scope admin` or set HOURGLASS_API_KEYS"
        )
