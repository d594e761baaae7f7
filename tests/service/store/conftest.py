"""A session on a migrated database (each backend) whose changes are rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from service.store.db import make_engine, make_session_factory


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session whose changes are rolled back after the test."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        yield session
        session.rollback()
    engine.dispose()
