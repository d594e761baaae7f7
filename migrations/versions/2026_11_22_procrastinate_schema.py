"""Procrastinate's job-queue schema, on PostgreSQL only (SQLite uses the embedded runner).

Revision ID: 7f3b2a9c1d05
Revises: 2c6419682ce1
Create Date: 2026-11-22 04:20:00
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "7f3b2a9c1d05"
down_revision = "2c6419682ce1"
branch_labels = None
depends_on = None

# Drops every object procrastinate's schema creates: functions (and their triggers), tables, types.
_DROP = """
DO $$
DECLARE obj record;
BEGIN
  FOR obj IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
  LOOP EXECUTE 'DROP FUNCTION IF EXISTS ' || obj.sig || ' CASCADE'; END LOOP;
  FOR obj IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
  LOOP EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(obj.tablename) || ' CASCADE'; END LOOP;
  FOR obj IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
               AND t.typtype IN ('e', 'c')
  LOOP EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(obj.typname) || ' CASCADE'; END LOOP;
END $$;
"""


def _run_script(sql: str) -> None:
    """Run a multi-statement script as is: no parameters, so `%` is not a placeholder."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    _run_script(SchemaManager.get_schema())


def downgrade() -> None:
    _run_script(_DROP)
