"""Generation counters: each API process caches keys and `{ref}` lookups, and drops them when the
counter of what they were read from moves (alias moves, versions, keys), on any replica.

Revision ID: 9b5c0e7d3a14
Revises: 4d1e8b6a2f90
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9b5c0e7d3a14"
down_revision = "4d1e8b6a2f90"
branch_labels = None
depends_on = None
NAMES = ("registry", "keys")


def upgrade() -> None:
    table = op.create_table(
        "generations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_generations")),
    )
    op.bulk_insert(table, [{"name": name, "value": 0} for name in NAMES])


def downgrade() -> None:
    op.drop_table("generations")
