"""Alembic from code: upgrade, downgrade, and "is the schema at head?"."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def include_name(name: str | None, type_: str, _parents: Mapping[str, str | None]) -> bool:
    """Autogenerate compares our tables only: procrastinate's queue schema is not ours."""
    return not (type_ == "table" and (name or "").startswith("procrastinate"))


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` without any ini file."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    with engine.begin() as connection:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    """The newest revision in migrations/versions."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    """True when the database schema is at the newest revision."""
    return current_revision(engine) == head_revision()
