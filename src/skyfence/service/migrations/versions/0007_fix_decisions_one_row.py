"""A fix and its decision in one row: the ``decisions`` table folds into ``fixes``; time-local indexes.

Ingestion writes about 1,000 distinct terminals a batch (the registry benchmark), and each terminal dirtied its own
page of every per-terminal index: ``fixes (terminal_id, time)``, ``decisions (terminal_id, id)`` and
``decisions (country, terminal_id, id)``.  With one row per fix and its decision, one ``(terminal_id, id)`` index
pages a terminal's fixes and its decisions, and the country index leads with ``(country, id)``, so new entries land
at the end of each country's range (a few pages a batch) while the regulator's view still reads only that
country's entries.  A decision's id becomes its fix's id (they were equal unless two PostgreSQL writers interleaved
their inserts); ``fix_id`` is unchanged.

Every fix has exactly one decision (both were written in one transaction); a fix without one stops the upgrade
rather than being dropped or given an invented decision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Self-contained on purpose (no imports from skyfence.service.models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The decision columns moved into ``fixes`` (name, type, nullable).
_DECISION_COLUMNS = (
    ("policy_version", sa.String(length=64), False),
    ("decision", sa.String(length=8), False),
    ("rule", sa.String(length=128), False),
    ("rule_kind", sa.String(length=32), False),
    ("reason", sa.String(length=1000), False),
    ("country", sa.String(length=2), False),
    ("licence_id", BIG_ID, True),
    ("enrolment_id", BIG_ID, True),
)
_NAMES = ", ".join(name for name, _, _ in _DECISION_COLUMNS)
_DENY = sa.text("decision = 'deny'")


def upgrade() -> None:
    for name, kind, _ in _DECISION_COLUMNS:
        op.add_column("fixes", sa.Column(name, kind, nullable=True))
    op.execute(f"UPDATE fixes SET ({_NAMES}) = (SELECT {_NAMES} FROM decisions AS d WHERE d.fix_id = fixes.id)")
    connection = op.get_bind()
    orphans = connection.execute(sa.text("SELECT count(*) FROM fixes WHERE decision IS NULL")).scalar_one()
    if orphans:
        raise RuntimeError(
            f"{orphans} stored fixes have no decision, so fixes and decisions cannot become one table; "
            "nothing was changed (find them with SELECT id FROM fixes WHERE id NOT IN (SELECT fix_id FROM decisions))"
        )
    op.drop_table("decisions")  # with its indexes
    op.drop_index("ix_fixes_terminal_time", table_name="fixes")
    with op.batch_alter_table("fixes") as batch:
        for name, kind, nullable in _DECISION_COLUMNS:
            if not nullable:
                batch.alter_column(name, existing_type=kind, nullable=False)
    op.create_index("ix_fixes_terminal_id", "fixes", ["terminal_id", "id"], unique=False)
    op.create_index("ix_fixes_decision", "fixes", ["decision", "id"], unique=False)
    op.create_index("ix_fixes_country", "fixes", ["country", "id", "terminal_id"], unique=False)
    op.create_index(
        "ix_fixes_denials", "fixes", ["terminal_id", "time"], unique=False, sqlite_where=_DENY, postgresql_where=_DENY
    )


def downgrade() -> None:
    # The decision columns wait in a scratch table while ``fixes`` loses them: SQLite rebuilds ``fixes`` to drop
    # columns, which it cannot do while ``decisions`` (with its foreign key) points at it.
    op.create_table(
        "_decisions_0007",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("time", UTC_TIME, nullable=False),
        *(sa.Column(name, kind, nullable=nullable) for name, kind, nullable in _DECISION_COLUMNS),
    )
    op.execute(f"INSERT INTO _decisions_0007 SELECT id, terminal_id, time, {_NAMES} FROM fixes")
    for index in ("ix_fixes_denials", "ix_fixes_country", "ix_fixes_decision", "ix_fixes_terminal_id"):
        op.drop_index(index, table_name="fixes")
    with op.batch_alter_table("fixes") as batch:
        for name, _, _ in reversed(_DECISION_COLUMNS):
            batch.drop_column(name)
    op.create_index("ix_fixes_terminal_time", "fixes", ["terminal_id", "time"], unique=False)
    op.create_table(
        "decisions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("fix_id", BIG_ID, nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("time", UTC_TIME, nullable=False),
        *(sa.Column(name, kind, nullable=nullable) for name, kind, nullable in _DECISION_COLUMNS),
        sa.ForeignKeyConstraint(["fix_id"], ["fixes.id"], name=op.f("fk_decisions_fix_id_fixes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("fix_id", name=op.f("uq_decisions_fix_id")),
    )
    op.execute(
        f"INSERT INTO decisions (id, fix_id, terminal_id, time, {_NAMES}) "
        f"SELECT id, id, terminal_id, time, {_NAMES} FROM _decisions_0007 ORDER BY id"
    )
    op.drop_table("_decisions_0007")
    if op.get_bind().dialect.name == "postgresql":  # the new table's id sequence continues after the copied ids
        op.execute(
            "SELECT setval(pg_get_serial_sequence('decisions', 'id'), "
            "COALESCE((SELECT max(id) FROM decisions), 0) + 1, false)"
        )
    op.create_index("ix_decisions_decision", "decisions", ["decision", "id"], unique=False)
    op.create_index("ix_decisions_terminal_id", "decisions", ["terminal_id", "id"], unique=False)
    op.create_index(
        "ix_decisions_denials",
        "decisions",
        ["terminal_id", "time"],
        unique=False,
        sqlite_where=_DENY,
        postgresql_where=_DENY,
    )
    op.create_index("ix_decisions_country_terminal", "decisions", ["country", "terminal_id", "id"], unique=False)
