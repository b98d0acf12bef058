"""Team deployment (issue 17): failed runs for the retry schedule, deployment-wide LLM slots.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "run_failures",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("masterplan_id", sa.String(200), nullable=False),
        sa.Column("job_name", sa.String(300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("transient", sa.Boolean(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retried_by", sa.String(200)),
    )
    op.create_index("ix_run_failures_masterplan_id", "run_failures", ["masterplan_id"])
    op.create_table(
        "llm_slots",
        sa.Column("slot_no", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("lease_id", sa.String(64)),
        sa.Column("holder", sa.String(200)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("llm_slots")
    op.drop_index("ix_run_failures_masterplan_id", table_name="run_failures")
    op.drop_table("run_failures")
