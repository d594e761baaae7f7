"""Versions are immutable: a recalibration is a new version with its own calibration blob.

`model_versions.calibration_blob_id` (null: the checkpoint's own calibration) and
`calibration_source` (what the calibration was made from: the training split, a dataset, rows).

Revision ID: 4d1e8b6a2f90
Revises: 7f3b2a9c1d05
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "4d1e8b6a2f90"
down_revision = "7f3b2a9c1d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calibration_blob_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("calibration_source", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_model_versions_calibration_blob_id"),
            ["calibration_blob_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_model_versions_calibration_blob_id_blobs"),
            "blobs",
            ["calibration_blob_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_model_versions_calibration_blob_id_blobs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_model_versions_calibration_blob_id"))
        batch_op.drop_column("calibration_source")
        batch_op.drop_column("calibration_blob_id")
