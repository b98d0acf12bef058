"""Attempts record model and effort, temperature is optional; Message Batch requests (issue 14).

Issue 14 made ``attempts.temperature`` nullable (models that take no temperature record none)
and added ``model`` and ``effort``; ``create_all`` never changes an existing column, so a store
created before it refused every attempt without a temperature. Stores created by that code
without migrations already have the new columns and table: they are added only when missing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mge_pipeline.store.migrations.helpers import has_column, has_table

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("attempts") as batch:
        if not has_column(bind, "attempts", "model"):
            batch.add_column(sa.Column("model", sa.String(100), nullable=False, server_default=""))
        if not has_column(bind, "attempts", "effort"):
            batch.add_column(sa.Column("effort", sa.String(10)))
        batch.alter_column("temperature", existing_type=sa.Float(), nullable=True)
    if not has_table(bind, "batch_requests"):
        op.create_table(
            "batch_requests",
            sa.Column("fingerprint", sa.String(64), primary_key=True),
            sa.Column("custom_id", sa.String(64), nullable=False),
            sa.Column("batch_id", sa.String(100), nullable=False),
            sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("collected", sa.Boolean(), nullable=False),
        )
        op.create_index("ix_batch_requests_batch_id", "batch_requests", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_batch_requests_batch_id", table_name="batch_requests")
    op.drop_table("batch_requests")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("effort")
        batch.drop_column("model")
        batch.alter_column("temperature", existing_type=sa.Float(), nullable=False)
