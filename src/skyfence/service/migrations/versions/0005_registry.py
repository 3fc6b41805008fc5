"""The registry: structured licence conditions, ownership records, ground sites, whitelist enrolments and
delegations, the registry version, and the licence / enrolment each decision used.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("licences") as batch:
        batch.drop_column("local_ownership")
        batch.add_column(sa.Column("local_ownership_min_pct", sa.Float(), nullable=True))
        batch.add_column(sa.Column("foreign_ownership_max_pct", sa.Float(), nullable=True))
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("licence_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("enrolment_id", BIG_ID, nullable=True))

    op.create_table(
        "ownerships",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("local_pct", sa.Float(), nullable=False),
        sa.Column("foreign_pct", sa.Float(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_ownerships_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownerships")),
        sa.UniqueConstraint("operator_id", "jurisdiction", name="uq_ownerships_operator_jurisdiction"),
    )
    op.create_index(op.f("ix_ownerships_operator_id"), "ownerships", ["operator_id"], unique=False)

    op.create_table(
        "ground_sites",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=False),
        sa.Column("lon_deg", sa.Float(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_ground_sites_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ground_sites")),
        sa.UniqueConstraint("operator_id", "name", name="uq_ground_sites_operator_name"),
    )
    op.create_index(op.f("ix_ground_sites_operator_id"), "ground_sites", ["operator_id"], unique=False)
    op.create_index(op.f("ix_ground_sites_country"), "ground_sites", ["country"], unique=False)

    op.create_table(
        "enrolments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("evidence_ref", sa.String(length=500), nullable=False),
        sa.Column("enrolled_at", UTC_TIME, nullable=False),
        sa.Column("enrolled_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_enrolments_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("jurisdiction", "terminal_id", name="uq_enrolments_jurisdiction_terminal"),
    )
    op.create_index(op.f("ix_enrolments_terminal_id"), "enrolments", ["terminal_id"], unique=False)

    op.create_table(
        "whitelist_delegates",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("lineage", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whitelist_delegates")),
        sa.UniqueConstraint("jurisdiction", "lineage", name="uq_whitelist_delegates_jurisdiction"),
    )

    version = op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("registry_version")
    op.drop_table("whitelist_delegates")
    op.drop_index(op.f("ix_enrolments_terminal_id"), table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index(op.f("ix_ground_sites_country"), table_name="ground_sites")
    op.drop_index(op.f("ix_ground_sites_operator_id"), table_name="ground_sites")
    op.drop_table("ground_sites")
    op.drop_index(op.f("ix_ownerships_operator_id"), table_name="ownerships")
    op.drop_table("ownerships")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("enrolment_id")
        batch.drop_column("licence_id")
    with op.batch_alter_table("licences") as batch:
        batch.drop_column("foreign_ownership_max_pct")
        batch.drop_column("local_ownership_min_pct")
        batch.add_column(sa.Column("local_ownership", sa.Boolean(), nullable=False, server_default=sa.false()))
