"""Layer statistics (issue 14): the end-of-training statistics of a version, and the cheap
per-epoch subset of each recorded epoch (`GET /v1/runs/{id}/epochs` shows when units died).

Revision ID: 5e2a7c91b3d8
Revises: 9b5c0e7d3a14
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e2a7c91b3d8"
down_revision = "9b5c0e7d3a14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("layer_stats", sa.JSON(), nullable=True))
    with op.batch_alter_table("run_epochs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("layers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_epochs", schema=None) as batch_op:
        batch_op.drop_column("layers")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("layer_stats")
