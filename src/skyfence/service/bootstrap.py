"""Database-side set-up without the HTTP API: the first operator key, and fixtures for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from skyfence.service.api.common import record_change, snapshot
from skyfence.service.api.routes.keys import issue_key
from skyfence.service.core.db import open_database
from skyfence.service.core.migrate import upgrade
from skyfence.service.models import Terminal
from skyfence.service.schemas import KeyCreate

__all__ = ["create_key"]


def create_key(db_url: str | Path, spec: KeyCreate, *, actor: str) -> tuple[str, str]:
    """Migrate the database if needed, store a key (audited as ``actor``) and return ``(key_id, key)``."""
    from skyfence.errors import InputError

    database = open_database(db_url)
    try:
        upgrade(database)
        with database.write() as session:
            if spec.terminal_id is not None and session.get(Terminal, spec.terminal_id) is None:
                raise InputError(f"no terminal {spec.terminal_id}", field="--terminal-id")
            row, key = issue_key(
                session,
                name=spec.name,
                role=spec.role,
                created_by=actor,
                jurisdiction=spec.jurisdiction,
                terminal_id=spec.terminal_id,
                expires_at=spec.expires_at,
            )
            record_change(
                session,
                None,
                action="key.create",
                resource_type="key",
                resource_id=row.id,
                before=None,
                after=snapshot(row, exclude=("secret_sha256",)),
                reason=spec.reason,
                actor=actor,
            )
            return row.id, key
    finally:
        database.dispose()
