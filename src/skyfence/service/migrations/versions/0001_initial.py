"""Initial schema: operators, accounts, terminals, licences, policies, keys, telemetry, decisions, alerts, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Self-contained on purpose (no imports from skyfence.service.models): a migration describes the schema as it was
when written, whatever the models say later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", BIG_ID, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("before_sha256", sa.String(length=64), nullable=True),
        sa.Column("after_sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
    )
    op.create_table(
        "policies",
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("n_rules", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UTC_TIME, nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_policies")),
    )
    op.create_index(op.f("ix_policies_active"), "policies", ["active"], unique=False)

    op.create_table(
        "telemetry_batches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("n_fixes", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_batches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_telemetry_batches_idempotency_key")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_accounts_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index(op.f("ix_accounts_operator_id"), "accounts", ["operator_id"], unique=False)

    op.create_table(
        "licences",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("local_gateway", sa.Boolean(), nullable=False),
        sa.Column("local_ownership", sa.Boolean(), nullable=False),
        sa.Column("lawful_intercept", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_licences_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licences")),
        sa.UniqueConstraint("operator_id", "jurisdiction", name="uq_licences_operator_jurisdiction"),
    )
    op.create_index(op.f("ix_licences_jurisdiction"), "licences", ["jurisdiction"], unique=False)
    op.create_index(op.f("ix_licences_operator_id"), "licences", ["operator_id"], unique=False)

    op.create_table(
        "terminals",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("registration_country", sa.String(length=2), nullable=False),
        sa.Column("plan", sa.String(length=16), nullable=False),
        sa.Column("sale_channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("whitelisted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_terminals_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("serial", name=op.f("uq_terminals_serial")),
    )
    op.create_index(op.f("ix_terminals_account_id"), "terminals", ["account_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("batch_id", BIG_ID, nullable=False),
        sa.Column("first_fix_id", BIG_ID, nullable=False),
        sa.Column("n_fixes", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("acknowledged_at", UTC_TIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["telemetry_batches.id"], name=op.f("fk_alerts_batch_id_telemetry_batches")
        ),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_alerts_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_terminal_kind", "alerts", ["terminal_id", "kind", "created_at"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=True),
        sa.Column("terminal_id", BIG_ID, nullable=True),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_api_keys_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_terminal_id"), "api_keys", ["terminal_id"], unique=False)

    op.create_table(
        "fixes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("batch_id", BIG_ID, nullable=False),
        sa.Column("index_in_batch", sa.Integer(), nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("time", UTC_TIME, nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=False),
        sa.Column("lon_deg", sa.Float(), nullable=False),
        sa.Column("alt_m", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["telemetry_batches.id"], name=op.f("fk_fixes_batch_id_telemetry_batches")
        ),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_fixes_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixes")),
        sa.UniqueConstraint("batch_id", "index_in_batch", name="uq_fixes_batch_index"),
    )
    op.create_index("ix_fixes_terminal_time", "fixes", ["terminal_id", "time"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("fix_id", BIG_ID, nullable=False),
        sa.Column("terminal_id", BIG_ID, nullable=False),
        sa.Column("time", UTC_TIME, nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("rule_kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["fix_id"], ["fixes.id"], name=op.f("fk_decisions_fix_id_fixes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("fix_id", name=op.f("uq_decisions_fix_id")),
    )
    op.create_index("ix_decisions_decision", "decisions", ["decision", "id"], unique=False)
    op.create_index("ix_decisions_terminal_id", "decisions", ["terminal_id", "id"], unique=False)
    op.create_index(
        "ix_decisions_denials",
        "decisions",
        ["terminal_id", "time"],
        unique=False,
        sqlite_where=sa.text("decision = 'deny'"),
        postgresql_where=sa.text("decision = 'deny'"),
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_denials", table_name="decisions")
    op.drop_index("ix_decisions_terminal_id", table_name="decisions")
    op.drop_index("ix_decisions_decision", table_name="decisions")

    op.drop_table("decisions")
    op.drop_index("ix_fixes_terminal_time", table_name="fixes")

    op.drop_table("fixes")
    op.drop_index(op.f("ix_api_keys_terminal_id"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_index("ix_alerts_terminal_kind", table_name="alerts")

    op.drop_table("alerts")
    op.drop_index(op.f("ix_terminals_account_id"), table_name="terminals")

    op.drop_table("terminals")
    op.drop_index(op.f("ix_licences_operator_id"), table_name="licences")
    op.drop_index(op.f("ix_licences_jurisdiction"), table_name="licences")

    op.drop_table("licences")
    op.drop_index(op.f("ix_accounts_operator_id"), table_name="accounts")

    op.drop_table("accounts")
    op.drop_table("telemetry_batches")
    op.drop_index(op.f("ix_policies_active"), table_name="policies")

    op.drop_table("policies")
    op.drop_table("operators")
    op.drop_table("audit_log")
    op.drop_table("audit_head")
