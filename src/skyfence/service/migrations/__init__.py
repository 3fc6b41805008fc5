"""Alembic migrations of the service database, applied at start-up (see :mod:`skyfence.service.core.migrate`)."""
