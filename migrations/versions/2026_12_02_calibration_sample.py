"""A seeded sample (at most 5,000) of each version's calibration rows, for the latent view.

A Detector keeps only the calibration rows' scores; the dashboard's scatter and
`GET /v1/models/{ref}/projection` need the rows themselves. `model_versions.sample_blob_id`
(null: a version registered before this) points at a `.npy` blob of them, in original units.

Revision ID: 5e2a7c91b4d3
Revises: 8c4f1d2e6a77
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e2a7c91b4d3"
down_revision = "8c4f1d2e6a77"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sample_blob_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_model_versions_sample_blob_id"), ["sample_blob_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_model_versions_sample_blob_id_blobs"),
            "blobs",
            ["sample_blob_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_model_versions_sample_blob_id_blobs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_model_versions_sample_blob_id"))
        batch_op.drop_column("sample_blob_id")
