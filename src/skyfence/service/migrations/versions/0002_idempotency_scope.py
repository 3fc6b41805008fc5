"""Idempotency keys scoped per key lineage; key lineage (a key and its rotation successors).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Before: ``telemetry_batches.idempotency_key`` was unique across the whole service, so any writer could claim
another client's future key.  Now a batch belongs to a *scope*, ``key:<lineage>``, where the lineage is the id of
the first key of a rotation chain (a rotated key's successors share it, so a retry after a rotation still finds
its batch); the key is unique within its scope only.  Existing rows are backfilled: every key starts its own
lineage unless it was created by rotating another key (followed along ``replaced_by``), and each stored batch
gets the scope of the key that posted it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("lineage", sa.String(length=16), nullable=True))
    connection = op.get_bind()
    keys = sa.table(
        "api_keys", sa.column("id", sa.String), sa.column("replaced_by", sa.String), sa.column("lineage", sa.String)
    )
    successor = dict(connection.execute(sa.select(keys.c.id, keys.c.replaced_by)).all())
    predecessors = {new: old for old, new in successor.items() if new}
    for key_id in successor:
        root, seen = key_id, {key_id}
        while root in predecessors and predecessors[root] not in seen:
            root = predecessors[root]
            seen.add(root)
        connection.execute(sa.update(keys).where(keys.c.id == key_id).values(lineage=root))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("lineage", existing_type=sa.String(length=16), nullable=False)
        batch.create_index(batch.f("ix_api_keys_lineage"), ["lineage"], unique=False)

    with op.batch_alter_table("telemetry_batches") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=40), nullable=True))
    batches = sa.table("telemetry_batches", sa.column("key_id", sa.String), sa.column("scope", sa.String))
    lineage = sa.select(keys.c.lineage).where(keys.c.id == batches.c.key_id).scalar_subquery()
    connection.execute(sa.update(batches).values(scope=sa.func.coalesce("key:" + lineage, "key:" + batches.c.key_id)))
    with op.batch_alter_table("telemetry_batches") as batch:
        batch.alter_column("scope", existing_type=sa.String(length=40), nullable=False)
        batch.drop_constraint("uq_telemetry_batches_idempotency_key", type_="unique")
        batch.create_unique_constraint(batch.f("uq_telemetry_batches_scope"), ["scope", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("telemetry_batches") as batch:
        batch.drop_constraint("uq_telemetry_batches_scope", type_="unique")
        batch.create_unique_constraint(batch.f("uq_telemetry_batches_idempotency_key"), ["idempotency_key"])
        batch.drop_column("scope")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_lineage")
        batch.drop_column("lineage")
