"""What an entry point composes for the web layers (API and dashboard) to use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from service.domain import keys
from service.domain.feeds import EpochFeed
from service.domain.lookup import Lookup
from service.domain.queue import JobQueue
from service.domain.runs import RunLimits
from service.store.db import SessionFactory


@dataclass
class Services:
    """What the entry point composed and the routes use."""

    engine: Engine
    factory: SessionFactory
    lookup: Lookup
    keys: keys.KeyCache
    queue: JobQueue
    feed: EpochFeed
    max_rows: int
    run_limits: RunLimits
    max_body_bytes: int
    open_without_keys: bool  # a loopback bind: with no active key, requests need none
