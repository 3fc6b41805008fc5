"""Regulators read only their own jurisdiction: the indexes their lists are answered from, the country of each
alert and the jurisdiction of each audit entry (see :mod:`skyfence.service.api.scope`).

``accounts (country, id)`` and ``terminals (registration_country, id)`` page a country's accounts and terminals
without a scan.  ``alerts.country`` is the country of the fix an alert was raised on (filled in here from the
fixes, then by ingestion) and ``alerts (country, id)`` pages a jurisdiction's alerts.  ``audit_log.jurisdiction``
names the jurisdiction an entry is about (set when it is written, hashed with the row when set) and
``audit_log (jurisdiction, seq)`` pages a regulator's entries.  Entries written before this revision keep
``jurisdiction`` NULL -- setting it now would change what their hash covers -- so only operators and analysts
read them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_country", "accounts", ["country", "id"])
    op.create_index("ix_terminals_registration_country", "terminals", ["registration_country", "id"])
    op.add_column("alerts", sa.Column("country", sa.String(length=2), nullable=True))
    op.execute("UPDATE alerts SET country = (SELECT f.country FROM fixes AS f WHERE f.id = alerts.first_fix_id)")
    op.create_index("ix_alerts_country", "alerts", ["country", "id"])
    op.add_column("audit_log", sa.Column("jurisdiction", sa.String(length=2), nullable=True))
    op.create_index("ix_audit_log_jurisdiction", "audit_log", ["jurisdiction", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_jurisdiction", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("jurisdiction")
    op.drop_index("ix_alerts_country", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("country")
    op.drop_index("ix_terminals_registration_country", table_name="terminals")
    op.drop_index("ix_accounts_country", table_name="accounts")
