"""Alembic: upgrade an empty database, no autogenerate diff, downgrade, upgrade again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.store.db import make_engine
from service.store.migrate import (
    current_revision,
    downgrade,
    head_revision,
    include_name,
    upgrade,
)
from service.store.tables import Base
from tests.service.conftest import BACKENDS, empty_database


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        diff: list[object] = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_matches_tables_downgrade_and_upgrade(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with empty_database(backend, tmp_path_factory) as url:
        engine = make_engine(url)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _diff(url) == []
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        engine.dispose()
