"""The application factory: settings → database (migrated at start-up) → FastAPI app.

``create_app()`` opens the database named by ``SKYFENCE_DATABASE_URL`` (default a SQLite file ``skyfence.db``),
refuses a PostgreSQL server that could lose acknowledged commits, applies the Alembic migrations and returns the
app.  ``skyfence serve`` runs it under uvicorn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from skyfence._version import __version__
from skyfence.service.api.common import ERROR_RESPONSES
from skyfence.service.api.main import api_router
from skyfence.service.api.routes import health
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.config import Settings, load_settings
from skyfence.service.core.db import Checkpointer, Database, check_durability, open_database
from skyfence.service.core.metrics import Metrics
from skyfence.service.core.middleware import GuardMiddleware, MetricsMiddleware
from skyfence.service.core.migrate import upgrade
from skyfence.service.core.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from skyfence.service.core.ratelimit import RateLimiter
from skyfence.service.web import layers as web_layers
from skyfence.service.web.pages import install_web

__all__ = ["API_PREFIX", "app_from_environment", "create_app"]

log = logging.getLogger("skyfence.service")

API_PREFIX = "/api/v1"
TOKEN_PATH = f"{API_PREFIX}/login/access-token"

_DESCRIPTION = """The skyfence control plane: operators, accounts, terminals, licences, policies, telemetry,
decisions, alerts and a tamper-evident audit log.

**Authentication**: an API key in `X-API-Key`, or `Authorization: Bearer` with an API key or a token from
`POST /api/v1/login/access-token`.  **Roles**: `operator` (everything), `regulator` (reads only its own
jurisdiction -- terminals and accounts registered there, fixes, decisions and alerts there, its licences and the
audit entries about them; an item elsewhere is a 404 -- and manages its licences and whitelist), `analyst` (reads,
without personal data), `terminal` (posts its own telemetry).

**Errors** are RFC 9457 problem details (`application/problem+json`); a field error names the field
(`body.fixes[3].lat_deg`).  **Retries**: send each telemetry batch with an `Idempotency-Key`; a retry with the same
key and body is answered from storage, so every batch is stored exactly once."""


def _route_id(route: APIRoute) -> str:
    return route.name


def _problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with every 4xx/5xx answer as ``application/problem+json``."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if not code.isdigit() or int(code) < 400:
                    continue
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
                if code == "422":
                    response["description"] = ERROR_RESPONSES[422]["description"]
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def _warm_up(database: Database, settings: Settings) -> None:
    """Compile the active policy now, so the first batch after a (re)start is not the slow one.

    This, with importing the policy stack it needs, is most of a restart (issue 11 measured about 10 s after a
    kill -9: ~2 s of CPU importing pandas/numba/pyproj, ~1 s reading Natural Earth and compiling, the rest waiting
    for a busy 2-core machine).  It runs in a thread once the server listens, so a restarted server answers
    health checks, reads and logins at once; ingestion waits for the compile it needs.
    """
    from sqlalchemy import select

    from skyfence.errors import SkyfenceError
    from skyfence.service.decisions import evaluator
    from skyfence.service.models import Policy

    with database.read() as session:
        active = session.scalar(select(Policy).where(Policy.active.is_(True)))
        if active is None:
            return
        try:
            compiled = evaluator(active.version_id, active.source, policy_dir=settings.policy_dir)
            if settings.detection:
                compiled.warm_detection()
        except SkyfenceError as error:  # ingestion answers 409 with the same message until it is fixed
            log.warning("active policy %s cannot be compiled: %s", active.version_id[:12], error)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready app: database opened and migrated, routers, error handlers, middleware."""
    settings = settings or load_settings()
    database: Database = open_database(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
    check_durability(database)
    revision = upgrade(database)
    log.info("database %s at revision %s", database.url.render_as_string(hide_password=True), revision)

    checkpointer = Checkpointer(database)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        checkpointer.start()
        # The policy stack (pandas, numba, Natural Earth) takes seconds to import and compile: do it while the
        # server already answers; a batch arriving meanwhile waits for the same compile (one build lock).
        warm_up = threading.Thread(target=_warm_up, args=(database, settings), name="skyfence-warm-up", daemon=True)
        warm_up.start()
        yield
        warm_up.join()  # it reads the database: let it finish before the engines go
        checkpointer.stop()
        database.dispose()

    app = FastAPI(
        title="skyfence control plane",
        version=__version__,
        description=_DESCRIPTION,
        generate_unique_id_function=_route_id,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by install_web: /docs works offline
        redoc_url=None,
    )
    app.router.route_class = JsonRoute  # routes added on the app itself read JSON as the routers' do
    app.state.settings = settings
    app.state.db = database
    app.state.metrics = Metrics()
    app.state.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(web_layers.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    install_web(app)
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=settings.max_body_bytes,
        form_paths=[TOKEN_PATH],
        csv_paths=rf"{API_PREFIX}/whitelists/[A-Z]{{2}}/enrolments",
        large_body_bytes=settings.large_body_bytes,
        large_in_flight=settings.large_requests_in_flight,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _problem_openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker of ``skyfence serve --workers N``: settings from the environment, GC frozen after."""
    import gc

    app = create_app(load_settings())
    gc.collect()
    gc.freeze()
    return app
