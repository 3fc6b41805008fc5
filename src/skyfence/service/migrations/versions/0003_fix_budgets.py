"""Fix budgets: the telemetry token bucket of each key lineage, shared by every worker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fix_budgets",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_fix_budgets")),
    )


def downgrade() -> None:
    op.drop_table("fix_budgets")
