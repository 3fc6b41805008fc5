"""``/api/v1/keys``: API keys -- create (the key is shown once), list, rotate, revoke -- and ``/keys/me``.

Only the SHA-256 of a key's secret is stored.  Rotation issues a new key with the same role and scope and lets the
old one work for ``grace_seconds`` more; a key rotates once (a second rotation of it is 409: rotate its successor).
Revocation ends a key, every key of its rotation chain (its *lineage*) and their bearer tokens at once.  Every
change is in the audit log.

Who manages which keys (:func:`may_manage`; create, rotate and revoke alike):

* an **operator** key manages operator, analyst and terminal keys -- never a regulator's, so an operator cannot
  give itself a regulator's powers (decide its own licence, manage a whitelist);
* a **regulator** key manages regulator keys of its own jurisdiction only (a colleague, or a key to delegate the
  whitelist to);
* any key rotates itself;
* the first operator key and the first regulator key of a jurisdiction come from ``skyfence keys create``, which
  writes to the database directly: whoever runs it administers the server.

A revocation that would leave no active operator key is refused (409): nobody could then manage operators,
terminals, policies or keys through the API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from skyfence.service.api.common import Limit, get_or_404, not_found, record_change, snapshot
from skyfence.service.api.deps import AnyCaller, DbDep, OperatorCaller, ReadSession, allow
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.core.security import Principal, hash_secret, new_key
from skyfence.service.models import ApiKey, Terminal, utcnow
from skyfence.service.schemas import KeyCreate, KeyCreated, KeyPublic, KeyRevoke, KeyRotate, Page

router = APIRouter(prefix="/keys", tags=["keys"], route_class=JsonRoute)

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key id (16 hex digits).")]
_AUDITED = ("secret_sha256",)
#: Who may create, rotate and revoke keys through the API: operators and regulators (each within its scope).
KeyManager = Annotated[Principal, Depends(allow("operator", "regulator"))]
#: Roles an operator key manages (a regulator key manages regulator keys of its own jurisdiction).
OPERATOR_MANAGES = ("operator", "analyst", "terminal")


def may_manage(principal: Principal, role: str, jurisdiction: str | None) -> str | None:
    """Why ``principal`` may not create (rotate, revoke) a key of ``role`` in ``jurisdiction``; ``None``: it may."""
    if principal.role == "operator":
        if role in OPERATOR_MANAGES:
            return None
        return (
            f"an operator key may not manage {role} keys (only {', '.join(OPERATOR_MANAGES)}): a regulator key "
            "comes from `skyfence keys create --role regulator` run by the server's administrator, or from a "
            "regulator of that jurisdiction"
        )
    if principal.role == "regulator":
        if role == "regulator" and jurisdiction == principal.jurisdiction:
            return None
        return f"a regulator key of {principal.jurisdiction} may manage only regulator keys of {principal.jurisdiction}"
    return f"role {principal.role} may not manage keys"


def _require_may_manage(principal: Principal, role: str, jurisdiction: str | None) -> None:
    refusal = may_manage(principal, role, jurisdiction)
    if refusal is not None:
        raise ProblemError(403, refusal)


def issue_key(
    session,
    *,
    name: str,
    role: str,
    created_by: str,
    jurisdiction: str | None = None,
    terminal_id: int | None = None,
    expires_at=None,
    lineage: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and return it with the full key text (shown once); ``lineage``: the rotated key's."""
    key_id, secret, full = new_key()
    row = ApiKey(
        id=key_id,
        name=name,
        role=role,
        jurisdiction=jurisdiction,
        terminal_id=terminal_id,
        secret_sha256=hash_secret(secret),
        created_by=created_by,
        expires_at=expires_at,
        lineage=lineage or key_id,
    )
    session.add(row)
    session.flush()
    return row, full


@router.get("", response_model=Page[KeyPublic])
def list_keys(session: ReadSession, _: OperatorCaller, limit: Limit = 100) -> Page[KeyPublic]:
    """All keys (without secrets), newest first."""
    rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()).limit(limit)).all()
    return Page(items=[KeyPublic.model_validate(r) for r in rows], next_after=None)


@router.post("", response_model=KeyCreated, status_code=201)
def create_key(body: KeyCreate, db: DbDep, principal: KeyManager) -> KeyCreated:
    """Create a key for a role (regulators: with a jurisdiction; terminals: with their terminal id).

    Operators create operator, analyst and terminal keys; a regulator creates regulator keys of its own
    jurisdiction; regulator keys otherwise come from ``skyfence keys create``."""
    _require_may_manage(principal, body.role, body.jurisdiction)
    with db.write() as session:
        if body.terminal_id is not None and session.get(Terminal, body.terminal_id) is None:
            raise ProblemError(
                422,
                f"body.terminal_id: unknown terminal {body.terminal_id}",
                kind="validation-error",
                errors=[FieldProblem(field="body.terminal_id", message="unknown terminal")],
            )
        row, full = issue_key(
            session,
            name=body.name,
            role=body.role,
            created_by=principal.label,
            jurisdiction=body.jurisdiction,
            terminal_id=body.terminal_id,
            expires_at=body.expires_at,
        )
        record_change(
            session,
            principal,
            action="key.create",
            resource_type="key",
            resource_id=row.id,
            before=None,
            after=snapshot(row, exclude=_AUDITED),
            reason=body.reason,
        )
    return KeyCreated(**KeyPublic.model_validate(row).model_dump(), key=full)


@router.get("/me", response_model=KeyPublic)
def get_own_key(session: ReadSession, principal: AnyCaller) -> KeyPublic:
    """The key the caller authenticated with: its role and scope."""
    row = session.get(ApiKey, principal.key_id)
    if row is None:  # revoked and deleted between authentication and now
        raise not_found("key", principal.key_id)
    return KeyPublic.model_validate(row)


@router.post("/{key_id}/rotate", response_model=KeyCreated, status_code=201)
def rotate_key(key_id: KeyId, body: KeyRotate, db: DbDep, principal: AnyCaller) -> KeyCreated:
    """Replace a key by a new one with the same role and scope (every key: itself; operators and regulators: the
    keys they may create)."""
    if principal.key_id != key_id and principal.role not in ("operator", "regulator"):
        raise ProblemError(403, f"role {principal.role} may rotate only its own key")
    with db.write() as session:
        old = session.get(ApiKey, key_id, with_for_update=True)  # two racing rotations: the second sees the first
        if old is None:
            raise not_found("key", key_id)
        if principal.key_id != key_id:
            _require_may_manage(principal, old.role, old.jurisdiction)
        now = utcnow()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise ProblemError(409, f"key {key_id} is no longer active; create a new key instead", kind="conflict")
        if old.replaced_by is not None:
            raise ProblemError(
                409,
                f"key {key_id} was rotated already (to {old.replaced_by}); rotate that key instead",
                kind="conflict",
            )
        before = snapshot(old, exclude=_AUDITED)
        new, full = issue_key(
            session,
            name=old.name,
            role=old.role,
            created_by=principal.label,
            jurisdiction=old.jurisdiction,
            terminal_id=old.terminal_id,
            expires_at=old.expires_at,
            lineage=old.lineage,
        )
        grace_end = now + timedelta(seconds=body.grace_seconds)
        old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
        old.replaced_by = new.id
        session.flush()
        record_change(
            session,
            principal,
            action="key.rotate",
            resource_type="key",
            resource_id=old.id,
            before=before,
            after=snapshot(old, exclude=_AUDITED),
            reason=body.reason,
        )
        record_change(
            session,
            principal,
            action="key.create",
            resource_type="key",
            resource_id=new.id,
            before=None,
            after=snapshot(new, exclude=_AUDITED),
            reason=f"rotation of {old.id}: {body.reason}",
        )
    return KeyCreated(**KeyPublic.model_validate(new).model_dump(), key=full)


@router.post("/{key_id}/revoke", response_model=KeyPublic)
def revoke_key(key_id: KeyId, body: KeyRevoke, db: DbDep, principal: KeyManager) -> KeyPublic:
    """Revoke a key now, with every key of its rotation chain (its successors, and a predecessor still in its grace
    period): a rotation must not keep a revoked credential alive.  Bearer tokens stop working at once.

    Operators revoke operator, analyst and terminal keys, a regulator the regulator keys of its jurisdiction.
    Revoking the last active operator key is refused (409)."""
    with db.write() as session:
        row = get_or_404(session, ApiKey, key_id, "key")
        _require_may_manage(principal, row.role, row.jurisdiction)
        now = utcnow()
        if row.role == "operator" and row.revoked_at is None:
            _refuse_last_operator_key(session, row, now)
        chain = session.scalars(
            select(ApiKey).where(ApiKey.lineage == row.lineage, ApiKey.revoked_at.is_(None)).order_by(ApiKey.created_at)
        ).all()
        for member in chain:
            before = snapshot(member, exclude=_AUDITED)
            member.revoked_at = now
            session.flush()
            record_change(
                session,
                principal,
                action="key.revoke",
                resource_type="key",
                resource_id=member.id,
                before=before,
                after=snapshot(member, exclude=_AUDITED),
                reason=body.reason if member.id == row.id else f"rotation chain of {row.id}: {body.reason}",
            )
    return KeyPublic.model_validate(row)


def _refuse_last_operator_key(session, row: ApiKey, now) -> None:
    """409 when revoking ``row``'s rotation chain would leave no active operator key."""
    others = session.scalar(
        select(ApiKey.id)
        .where(
            ApiKey.role == "operator",
            ApiKey.lineage != row.lineage,
            ApiKey.revoked_at.is_(None),
            (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
        )
        .limit(1)
    )
    if others is None:
        raise ProblemError(
            409,
            f"key {row.id} is the last active operator key: revoking it would leave nobody able to manage operators, "
            "terminals, policies or keys through the API; create another operator key first (POST /api/v1/keys "
            "with role operator, or `skyfence keys create --role operator`), then revoke this one",
            kind="conflict",
        )
