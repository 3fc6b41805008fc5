"""The skyfence control plane: an authenticated HTTP API over a durable database.

Laid out like the full-stack FastAPI template::

    service/
      main.py          create_app(): settings → database (migrated at start-up) → FastAPI app
      core/            config (pydantic-settings), db (SQLite WAL / PostgreSQL), migrate (Alembic), security
                       (API keys, tokens), problems (RFC 9457 errors), middleware, rate limits, metrics
      models.py        SQLAlchemy 2 tables
      schemas.py       wire formats: Create / Update / Public per resource
      api/routes/      one router per resource
      audit.py         the hash-chained audit log and its verification
      ingest.py        telemetry → decisions → alerts, exactly once per idempotency key
      decisions.py     the one module that talks to the policy engine
      commands.py      serve, audit verify, keys create (``skyfence ...`` and ``python -m skyfence.service ...``)
      serve.py         run the app under uvicorn
      migrations/      Alembic revisions

Run it with ``skyfence serve --db URL --host 127.0.0.1 --port 8000``; check the audit log with
``skyfence audit verify --db URL``.
"""

from typing import TYPE_CHECKING

from skyfence._lazy import lazy_exports

_WHERE = {
    "AuditError": "skyfence.errors",
    "Settings": "skyfence.service.core.config",
    "Verification": "skyfence.service.audit",
    "create_app": "skyfence.service.main",
    "load_settings": "skyfence.service.core.config",
    "verify": "skyfence.service.audit",
}
__all__ = ["AuditError", "Settings", "Verification", "create_app", "load_settings", "verify"]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from skyfence.errors import AuditError
    from skyfence.service.audit import Verification, verify
    from skyfence.service.core.config import Settings, load_settings
    from skyfence.service.main import create_app
