"""An index for the regulator's view: each terminal's latest decision in a jurisdiction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_decisions_country_terminal", "decisions", ["country", "terminal_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_decisions_country_terminal", table_name="decisions")
