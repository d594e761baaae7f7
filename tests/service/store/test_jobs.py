"""Procrastinate's connection string comes from the one database URL."""

from __future__ import annotations

import pytest

from service.store.jobs import libpq_conninfo, run_lock


def test_the_sqlalchemy_driver_is_dropped_and_the_password_kept() -> None:
    url = "postgresql+psycopg://hourglass:s3cret@db:5432/hourglass"
    assert libpq_conninfo(url) == "postgresql://hourglass:s3cret@db:5432/hourglass"


def test_workers_refuse_a_database_that_is_not_postgresql() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        libpq_conninfo("sqlite:///hourglass.db")


def test_every_attempt_at_a_run_shares_one_lock() -> None:
    assert run_lock(12) == run_lock(12) != run_lock(13)
