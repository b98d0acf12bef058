"""Behavioural evidence and mutation outcome per atom result (issue 13).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot ALTER freely; on PostgreSQL this is a plain ADD COLUMN.
    with op.batch_alter_table("atom_results") as batch:
        batch.add_column(sa.Column("evidence", sa.Text()))
        batch.add_column(sa.Column("mutation", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("atom_results") as batch:
        batch.drop_column("mutation")
        batch.drop_column("evidence")
