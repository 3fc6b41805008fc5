"""Alembic migrations, applied at start-up.

Several processes may start at once (a restart loop, two workers): on SQLite the migration runs inside
``BEGIN IMMEDIATE``, on PostgreSQL under a transaction-scoped advisory lock, so one of them migrates and the others
find the schema at head.  DDL is transactional on both, so a crash mid-migration leaves the old schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from skyfence.service.core.db import Database

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_KEY: Final = 0x5F5F_A0D0


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the bundled migrations (and at ``connection`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of skyfence."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> str:
    """Bring the database to the newest revision; returns it."""
    with database.writer.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if current_revision(connection) != head_revision():
            command.upgrade(alembic_config(connection), "head")
        return head_revision()
