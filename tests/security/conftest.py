"""Fixtures of the security suite: the service fixtures (data mirror, SQLite and PostgreSQL databases)."""

from tests.service.conftest import postgres_admin_url, service_data  # noqa: F401  (re-exported fixtures)
