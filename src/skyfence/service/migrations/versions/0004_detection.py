"""Detection: per-terminal detector state, and alerts with a fix time, a score and evidence.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Existing alerts get the time of the fix they refer to.  Self-contained (no imports from the models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detector_state",
        sa.Column("terminal_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_s", sa.Float(), nullable=False),
        sa.Column("near_front", sa.Boolean(), nullable=False),
        sa.Column("cluster_done", sa.Boolean(), nullable=False),
        sa.Column("n_fixes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_detector_state_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_detector_state")),
    )
    op.create_index("ix_detector_state_account", "detector_state", ["account_id", "near_front"], unique=False)
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("time", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.Text(), nullable=True))
    op.execute("UPDATE alerts SET time = (SELECT fixes.time FROM fixes WHERE fixes.id = alerts.first_fix_id)")
    op.execute("UPDATE alerts SET time = created_at WHERE time IS NULL")
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("time", existing_type=UTC_TIME, nullable=False)
        batch.create_index("ix_alerts_time", ["time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_time")
        batch.drop_column("evidence")
        batch.drop_column("score")
        batch.drop_column("time")
    op.drop_index("ix_detector_state_account", table_name="detector_state")
    op.drop_table("detector_state")
