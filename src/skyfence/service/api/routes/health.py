"""``/health`` (no credentials: liveness only, ``status`` and ``version``; with an operator, regulator or analyst key
also the database backend, schema revision and active policy) and ``/metrics`` (``SKYFENCE_METRICS_ACCESS``: by default
only for operator, regulator and analyst keys; ``public`` for a scraper on a private network; ``off``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select

from skyfence._version import __version__
from skyfence.service.api.deps import (
    READERS,
    DbDep,
    SettingsDep,
    api_key_header,
    authenticate,
    bearer_scheme,
    require_role,
)
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.migrate import current_revision
from skyfence.service.core.problems import ProblemError
from skyfence.service.models import Policy
from skyfence.service.schemas import Health

router = APIRouter(tags=["health"], route_class=JsonRoute)

_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/health",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"description": "The database is unreachable."}},
)
def health(
    request: Request,
    settings: SettingsDep,
    db: DbDep,
    api_key: Annotated[str | None, Depends(api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Health:
    """Liveness and readiness: the database answers and is at the expected schema revision.

    Without credentials (or with a key that is not a reader's, or not valid) only ``status`` and ``version``: the
    database kind, schema revision and active policy tell an attacker what to aim at."""
    try:
        with db.read() as session:
            revision = current_revision(session.connection())
            active = session.scalar(select(Policy.version_id).where(Policy.active.is_(True)))
    except Exception as error:  # any database failure is "not ready", never a 500
        raise ProblemError(503, f"database unreachable: {type(error).__name__}", headers={"Retry-After": "1"}) from None
    if not (api_key or bearer):
        return Health(status="ok", version=__version__)
    try:
        require_role(authenticate(request, db, settings, api_key, bearer), READERS)
    except ProblemError:  # a bad or unprivileged credential still learns that the server is alive, nothing more
        return Health(status="ok", version=__version__)
    return Health(
        status="ok",
        version=__version__,
        database=db.url.get_backend_name(),
        schema_revision=revision,
        active_policy=active,
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text."}},
)
def metrics(
    request: Request,
    settings: SettingsDep,
    db: DbDep,
    api_key: Annotated[str | None, Depends(api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> PlainTextResponse:
    """Prometheus metrics (text exposition format 0.0.4); who may read them is ``SKYFENCE_METRICS_ACCESS``."""
    if settings.metrics_access == "off":
        raise ProblemError(404, "metrics are off on this server (SKYFENCE_METRICS_ACCESS=off)", kind="not-found")
    if settings.metrics_access == "authenticated":
        require_role(authenticate(request, db, settings, api_key, bearer), READERS)
    return PlainTextResponse(request.app.state.metrics.render(), media_type=_PROMETHEUS)
