"""Alembic environment: runs on the connection :func:`skyfence.service.core.migrate.upgrade` passes in."""

from __future__ import annotations

from alembic import context

from skyfence.service.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through skyfence.service.core.migrate.upgrade(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
