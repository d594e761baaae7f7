"""Sweeps (issue 14): a search over run configs on one dataset; each trial is an ordinary run
(`runs.sweep_id`, `runs.trial_number`, unique together, so a coordinator that resumes cannot
create a trial twice), its outcome in `runs.trial` and its checkpoint in `runs.checkpoint_blob_id`
until the best one is registered.

Revision ID: 8c4f1d2e6a77
Revises: 5e2a7c91b3d8
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8c4f1d2e6a77"
down_revision = "5e2a7c91b3d8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("best", sa.JSON(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_sweeps_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweeps")),
    )
    op.create_index(op.f("ix_sweeps_status"), "sweeps", ["status"], unique=False)
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sweep_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("trial_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("trial", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_blob_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_sweep_id"), ["sweep_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_runs_sweep_id"), ["sweep_id", "trial_number"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_runs_sweep_id_sweeps"), "sweeps", ["sweep_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_runs_checkpoint_blob_id_blobs"), "blobs", ["checkpoint_blob_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_runs_checkpoint_blob_id_blobs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_runs_sweep_id_sweeps"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_runs_sweep_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_runs_sweep_id"))
        batch_op.drop_column("checkpoint_blob_id")
        batch_op.drop_column("trial")
        batch_op.drop_column("trial_number")
        batch_op.drop_column("sweep_id")
    op.drop_index(op.f("ix_sweeps_status"), table_name="sweeps")
    op.drop_table("sweeps")
