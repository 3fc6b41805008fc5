"""The detectors' per-terminal state travels in the fixes: ``fixes.detector_state``; ``detector_state`` keeps only
what the account-cluster rule looks up across terminals.

Ingestion scans ~1,000 distinct terminals a batch (the registry benchmark), and upserting each one's state row
rewrote ~900 random pages of ``detector_state`` and its account index a batch, the largest random write left.  Now
each scanned batch writes each terminal's state into the terminal's last fix row of the batch, which is appended
anyway; a terminal's state is its newest fix row that carries one.  ``detector_state`` keeps ``account_id``,
``first_seen_s``, ``near_front`` and ``cluster_done`` (written when a terminal is first seen or its cluster alert
is raised) and loses ``state`` and ``n_fixes`` (the state's own field ``n``).

Upgrade: each terminal's stored state moves into its newest fix row.  A state row of a terminal without any fix
(the service never writes one) stops the upgrade rather than being dropped.  Downgrade: ``state`` comes back from
the newest carrier row and ``n_fixes`` from its field ``n``; a terminal without a carrier stops it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Self-contained on purpose (no imports from skyfence.service.models or skyfence.detection).
"""

from __future__ import annotations

import struct

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: The newest fix row of each terminal that carries a state.
_CARRIERS = (
    "SELECT terminal_id, detector_state FROM fixes WHERE id IN "
    "(SELECT max(id) FROM fixes WHERE detector_state IS NOT NULL GROUP BY terminal_id)"
)


def upgrade() -> None:
    connection = op.get_bind()
    homeless = connection.execute(
        sa.text(
            "SELECT count(*) FROM detector_state AS d "
            "WHERE NOT EXISTS (SELECT 1 FROM fixes AS f WHERE f.terminal_id = d.terminal_id)"
        )
    ).scalar_one()
    if homeless:
        raise RuntimeError(
            f"{homeless} terminals have a detector state but no stored fix to carry it; nothing was changed "
            "(find them with SELECT terminal_id FROM detector_state WHERE terminal_id NOT IN "
            "(SELECT terminal_id FROM fixes))"
        )
    op.add_column("fixes", sa.Column("detector_state", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE fixes SET detector_state = "
        "(SELECT d.state FROM detector_state AS d WHERE d.terminal_id = fixes.terminal_id) "
        "WHERE id IN (SELECT max(f.id) FROM fixes AS f JOIN detector_state AS d ON d.terminal_id = f.terminal_id "
        "GROUP BY f.terminal_id)"
    )
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): the table keeps its index and foreign key as they are.
    op.execute("ALTER TABLE detector_state DROP COLUMN state")
    op.execute("ALTER TABLE detector_state DROP COLUMN n_fixes")


def downgrade() -> None:
    connection = op.get_bind()
    orphans = connection.execute(
        sa.text(
            "SELECT count(*) FROM detector_state AS d WHERE NOT EXISTS "
            "(SELECT 1 FROM fixes AS f WHERE f.terminal_id = d.terminal_id AND f.detector_state IS NOT NULL)"
        )
    ).scalar_one()
    if orphans:
        raise RuntimeError(
            f"{orphans} terminals of detector_state have no fix carrying their state, so the state column cannot "
            "be filled; nothing was changed"
        )
    op.add_column("detector_state", sa.Column("n_fixes", sa.BigInteger(), nullable=True))
    op.add_column("detector_state", sa.Column("state", sa.LargeBinary(), nullable=True))
    carriers = connection.execute(sa.text(_CARRIERS)).all()
    if carriers:
        # n_fixes was the state's first field, n (skyfence.detection.detectors.STATE_FIELDS[0]), as float64 LE
        connection.execute(
            sa.text("UPDATE detector_state SET n_fixes = :n, state = :state WHERE terminal_id = :terminal"),
            [
                {"terminal": int(terminal), "n": int(struct.unpack_from("<d", bytes(blob))[0]), "state": bytes(blob)}
                for terminal, blob in carriers
            ],
        )
    with op.batch_alter_table("detector_state") as batch:
        batch.alter_column("n_fixes", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("state", existing_type=sa.LargeBinary(), nullable=False)
    op.execute("ALTER TABLE fixes DROP COLUMN detector_state")
