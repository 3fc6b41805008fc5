"""Request dependencies (``Annotated`` aliases, as in the full-stack FastAPI template): settings, database, caller.

Authorisation is declared per route with :func:`allow`; scope checks that need the request body (a regulator's
jurisdiction, a terminal's own id) are done in the route with :func:`require_jurisdiction` and
:func:`require_terminal`.  Authentication runs before body validation, so a caller without a valid key learns
nothing about the body (401 comes before 422).

Transactions that change data are opened explicitly in the routes (``with db.write() as session:``) so that the
commit -- and for SQLite the fsync -- happens before the response is sent, never after.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from skyfence.service.core.config import Settings
from skyfence.service.core.db import Database
from skyfence.service.core.problems import ProblemError
from skyfence.service.core.security import Principal, parse_key, read_token, secret_matches
from skyfence.service.models import ApiKey, utcnow

__all__ = [
    "ANY_ROLE",
    "OPERATOR",
    "READERS",
    "DbDep",
    "ReadSession",
    "SettingsDep",
    "allow",
    "authenticate",
    "require_jurisdiction",
    "require_role",
    "require_terminal",
]

OPERATOR = ("operator",)
READERS = ("operator", "regulator", "analyst")
ANY_ROLE = ("operator", "regulator", "analyst", "terminal")

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKey", description="An API key `sfk_<id>_<secret>`."
)
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    description="An access token from `POST /api/v1/login/access-token`, or an API key.",
)


# The dependencies that only look something up, or check what another dependency found, are ``async def``:
# FastAPI runs a plain ``def`` dependency in its thread pool, and each such hop (a queue, a thread wake-up, the
# event loop woken again) cost more than the lookup (a telemetry batch went through four of them before its route).
# Those that read the database stay ``def``, so the event loop never waits for it.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_database)]


def read_session(db: DbDep) -> Iterator[Session]:
    with db.read() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]


def _unauthorised(detail: str) -> ProblemError:
    return ProblemError(401, detail, kind="unauthorised", headers={"WWW-Authenticate": 'Bearer realm="skyfence"'})


def principal_for_key(session: Session, key_id: str) -> Principal:
    """The active key ``key_id`` as a :class:`Principal`; 401 when unknown, revoked or expired."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise _unauthorised("unknown API key (ask an operator for a key)")
    now = utcnow()
    if row.revoked_at is not None:
        raise _unauthorised(f"API key {key_id} was revoked (ask an operator for a new key)")
    if row.expires_at is not None and row.expires_at <= now:
        hint = f"it was rotated to {row.replaced_by}" if row.replaced_by else "ask an operator for a new key"
        raise _unauthorised(f"API key {key_id} has expired ({hint})")
    return Principal(
        key_id=row.id, role=row.role, jurisdiction=row.jurisdiction, terminal_id=row.terminal_id, lineage=row.lineage
    )


def check_key(session: Session, key: str) -> Principal:
    """Authenticate a full ``sfk_...`` key (constant-time secret comparison)."""
    parsed = parse_key(key)
    if parsed is None:
        raise _unauthorised("malformed API key (expected sfk_<16 hex digits>_<43 characters>)")
    key_id, secret = parsed
    row = session.get(ApiKey, key_id)
    if row is None or not secret_matches(secret, row.secret_sha256):
        raise _unauthorised("unknown API key (ask an operator for a key)")
    return principal_for_key(session, key_id)


def authenticate(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    api_key: Annotated[str | None, Depends(api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
) -> Principal:
    """The caller, from ``X-API-Key`` or ``Authorization: Bearer``; then its rate limit is charged."""
    credential = api_key or (bearer.credentials if bearer is not None else None)
    if not credential:
        raise _unauthorised("no credentials (send X-API-Key: sfk_... or Authorization: Bearer <token>)")
    with db.read() as session:
        if api_key or credential.startswith("sfk_"):  # X-API-Key holds an API key, never a token
            principal = check_key(session, credential)
        else:
            key_id = read_token(credential, settings.signing_key)
            if key_id is None:
                raise _unauthorised("invalid or expired bearer token (get a new one at /api/v1/login/access-token)")
            principal = principal_for_key(session, key_id)
    wait = request.app.state.limiter.take(principal.key_id)
    if wait:
        request.app.state.metrics.inc("skyfence_rate_limited_total", help_text="Requests refused with 429.")
        raise ProblemError(
            429,
            f"rate limit of key {principal.key_id} exceeded; retry in {wait} s",
            kind="rate-limited",
            headers={"Retry-After": str(wait)},
        )
    request.state.principal = principal
    return principal


def require_role(principal: Principal, roles: tuple[str, ...]) -> Principal:
    """``principal`` if its role is one of ``roles``; 403 otherwise."""
    if principal.role not in roles:
        raise ProblemError(403, f"role {principal.role} may not do this (allowed: {', '.join(roles)})")
    return principal


def allow(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only ``roles`` (403 for the others, 401 without valid credentials)."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        return require_role(principal, roles)

    dependency.__name__ = f"allow_{'_'.join(roles)}"
    return dependency


def require_jurisdiction(principal: Principal, jurisdiction: str, what: str = "licences") -> None:
    """A regulator acts only in its own jurisdiction (operators everywhere)."""
    if principal.role == "regulator" and principal.jurisdiction != jurisdiction:
        raise ProblemError(403, f"regulator of {principal.jurisdiction} may not manage {what} in {jurisdiction}")


def require_terminal(principal: Principal, terminal_id: int, field: str) -> None:
    """A terminal posts its own telemetry only."""
    if principal.role == "terminal" and principal.terminal_id != terminal_id:
        raise ProblemError(
            403, f"{field}: terminal key of terminal {principal.terminal_id} may not post for terminal {terminal_id}"
        )


#: Route parameter aliases: who may call.
OperatorCaller = Annotated[Principal, Depends(allow(*OPERATOR))]
Reader = Annotated[Principal, Depends(allow(*READERS))]
AnyCaller = Annotated[Principal, Depends(allow(*ANY_ROLE))]
LicenceManager = Annotated[Principal, Depends(allow("operator", "regulator"))]
TelemetryWriter = Annotated[Principal, Depends(allow("operator", "terminal"))]
