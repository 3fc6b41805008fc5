"""Pieces every router uses: paging, 404s, resource snapshots for the audit log, the documented error responses."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path, Query
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from skyfence.service import audit
from skyfence.service.core.problems import Problem, ProblemError
from skyfence.service.core.security import Principal

__all__ = [
    "ERROR_RESPONSES",
    "After",
    "CodeFilter",
    "IdFilter",
    "Limit",
    "PathId",
    "not_found",
    "record_change",
    "snapshot",
]

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
After = Annotated[int, Query(ge=0, le=2**62, description="Return items with an id greater than this (paging).")]

_ERRORS: Final = {
    400: "Malformed request.",
    401: "No valid credentials (missing, unknown, revoked or expired key or token).",
    403: "The caller's role or scope does not allow this.",
    404: "No such resource.",
    409: "The request conflicts with the stored state (duplicate, not allowed in this state).",
    413: "The request body is too large.",
    415: "The body is not JSON (or form data where a form is expected, or CSV where CSV is accepted).",
    422: "The request is invalid, or its body is not JSON (malformed, not UTF-8, nested too deeply: field `body`); "
    "`errors` names each field.",
    429: "Rate limit exceeded; retry after `Retry-After` seconds.",
    503: "The database is busy or unreachable; retry after `Retry-After` seconds.",
}
_HEADERS: Final = {
    401: {"WWW-Authenticate": {"description": "How to authenticate.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}
#: Every error a route may answer, as problem+json (see :func:`skyfence.service.main.custom_openapi`).
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": Problem, "description": text, **({"headers": _HEADERS[status]} if status in _HEADERS else {})}
    for status, text in _ERRORS.items()
}


def not_found(kind: str, key: object) -> ProblemError:
    return ProblemError(404, f"no {kind} {key!r}", kind="not-found")


def get_or_404(session: Session, model: type[Any], key: Any, kind: str) -> Any:
    """The row of ``model`` with primary key ``key``, or a 404 problem naming ``kind``."""
    row = session.get(model, key)
    if row is None:
        raise not_found(kind, key)
    return row


def add_audited(
    session: Session, principal: Principal | None, row: Any, *, kind: str, reason: str, action: str = "create"
) -> Any:
    """Insert ``row`` and append ``<kind>.<action>`` with its new content to the audit log, in one transaction."""
    session.add(row)
    session.flush()
    mapper = sa_inspect(type(row))
    (key,) = mapper.primary_key_from_instance(row)
    record_change(
        session,
        principal,
        action=f"{kind}.{action}",
        resource_type=kind,
        resource_id=key,
        before=None,
        after=snapshot(row),
        reason=reason,
    )
    return row


def update_audited(
    session: Session,
    principal: Principal | None,
    row: Any,
    changes: dict[str, Any],
    *,
    kind: str,
    reason: str,
    nullable: tuple[str, ...] = (),
    action: str = "update",
) -> Any:
    """Apply ``changes`` to ``row`` and append ``<kind>.<action>`` with before/after to the audit log.

    ``None`` means "leave as is", except for the fields in ``nullable``, where it clears the value.  A change that
    changes nothing (every value equal to the stored one) touches neither ``updated_at`` nor the audit log.
    """
    from skyfence.service.models import utcnow

    before = snapshot(row)
    applied = False
    for key, value in changes.items():
        if (value is not None or key in nullable) and getattr(row, key) != value:
            setattr(row, key, value)
            applied = True
    if not applied:
        return row
    row.updated_at = utcnow()
    session.flush()
    (key,) = sa_inspect(type(row)).primary_key_from_instance(row)
    record_change(
        session,
        principal,
        action=f"{kind}.{action}",
        resource_type=kind,
        resource_id=key,
        before=before,
        after=snapshot(row),
        reason=reason,
    )
    return row


def delete_audited(session: Session, principal: Principal | None, row: Any, *, kind: str, reason: str) -> None:
    """Delete ``row`` and append ``<kind>.delete`` with its last content to the audit log, in one transaction."""
    before = snapshot(row)
    (key,) = sa_inspect(type(row)).primary_key_from_instance(row)
    session.delete(row)
    session.flush()
    record_change(
        session,
        principal,
        action=f"{kind}.delete",
        resource_type=kind,
        resource_id=key,
        before=before,
        after=None,
        reason=reason,
    )


def page_rows(session: Session, model: type[Any], *where: Any, after: int, limit: int, **equal: Any) -> list[Any]:
    """One page of ``model`` rows ordered by id after ``after``, with the ``where`` conditions; ``equal`` filters
    columns by value (``None`` = any)."""
    query = select(model).where(model.id > after, *where)
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return list(session.scalars(query.order_by(model.id).limit(limit)).all())


def snapshot(row: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row's column values (what the audit log digests)."""
    mapper = sa_inspect(type(row))
    return {c.key: getattr(row, c.key) for c in mapper.column_attrs if c.key not in exclude}


def record_change(
    session: Session,
    principal: Principal | None,
    *,
    action: str,
    resource_type: str,
    resource_id: str | int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
    actor: str | None = None,
    jurisdiction: str | None = None,
) -> None:
    """Append the change to the audit log in the caller's transaction.

    ``jurisdiction`` (which regulator reads the entry) defaults to the one the resource names: see
    :func:`jurisdiction_of`."""
    audit.append(
        session,
        actor=actor or (principal.label if principal else "system"),
        actor_role=principal.role if principal else "system",
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        before=before,
        after=after,
        reason=reason,
        jurisdiction=jurisdiction if jurisdiction is not None else jurisdiction_of(before, after),
    )


#: The column naming a resource's jurisdiction, by the snapshot key it appears under: a licence's, ownership
#: record's, whitelist's or key's ``jurisdiction``, a terminal's ``registration_country``, an account's or ground
#: site's ``country``.
_JURISDICTION_KEYS: Final = ("jurisdiction", "registration_country", "country")


def jurisdiction_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """The jurisdiction an audited change is about, from the resource's state after (or before) it."""
    for state in (after, before):
        for key in _JURISDICTION_KEYS:
            value = (state or {}).get(key)
            if isinstance(value, str) and len(value) == 2:
                return value
    return None


#: A positive integer id in a path (ids are 64-bit; larger numbers are a 422, never a database error).
PathId = Annotated[int, Path(ge=1, le=2**62, description="The resource's id.", examples=[1])]


IdFilter = Annotated[int | None, Query(ge=1, le=2**62, description="Only items referring to this id.")]
CodeFilter = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")]
