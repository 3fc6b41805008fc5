"""``/api/v1/policies``: upload a policy file (validated by the policy engine, versioned by content hash) and
activate a version; ingestion decides with the active one."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import select, update

from skyfence.service.api.common import Limit, add_audited, not_found, record_change, snapshot
from skyfence.service.api.deps import DbDep, OperatorCaller, Reader, ReadSession, SettingsDep
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.problems import ProblemError
from skyfence.service.decisions import validate_policy
from skyfence.service.models import Policy, utcnow
from skyfence.service.schemas import Page, PolicyActivate, PolicyDetail, PolicyPublic, PolicyUpload

router = APIRouter(prefix="/policies", tags=["policies"], route_class=JsonRoute)

VersionId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="The version id (sha256 of the normalised content).")
]


def active_policy(session) -> Policy | None:
    return session.scalar(select(Policy).where(Policy.active.is_(True)))


@router.get("", response_model=Page[PolicyPublic])
def list_policies(session: ReadSession, _: Reader, limit: Limit = 100) -> Page[PolicyPublic]:
    """Stored versions, newest first."""
    rows = session.scalars(select(Policy).order_by(Policy.uploaded_at.desc()).limit(limit)).all()
    return Page(items=[PolicyPublic.model_validate(r) for r in rows], next_after=None)


@router.post(
    "",
    response_model=PolicyPublic,
    status_code=201,
    responses={200: {"model": PolicyPublic, "description": "This version was stored before (nothing changed)."}},
)
def upload_policy(
    body: PolicyUpload, db: DbDep, settings: SettingsDep, principal: OperatorCaller, response: Response
) -> PolicyPublic:
    """Validate a policy file and store it as a version (not yet active); the same content gives the same id."""
    info = validate_policy(body.source, policy_dir=settings.policy_dir)
    with db.write() as session:
        existing = session.get(Policy, info.version_id)
        if existing is not None:
            response.status_code = 200
            return PolicyPublic.model_validate(existing)
        row = Policy(
            version_id=info.version_id,
            name=info.name[:200],
            operator=info.operator,
            source=body.source,
            source_sha256=hashlib.sha256(body.source.encode("utf-8")).hexdigest(),
            n_rules=info.n_rules,
            uploaded_by=principal.label,
            active=False,
        )
        add_audited(session, principal, row, kind="policy", reason=body.reason, action="upload")
    return PolicyPublic.model_validate(row)


@router.get("/active", response_model=PolicyDetail)
def get_active_policy(session: ReadSession, _: Reader) -> PolicyDetail:
    """The version ingestion decides with."""
    row = active_policy(session)
    if row is None:
        raise ProblemError(404, "no policy is active (upload one and activate it)", kind="not-found")
    return PolicyDetail.model_validate(row)


@router.get("/{version_id}", response_model=PolicyDetail)
def get_policy(version_id: VersionId, session: ReadSession, _: Reader) -> PolicyDetail:
    """One version, with its TOML source."""
    row = session.get(Policy, version_id)
    if row is None:
        raise not_found("policy version", version_id)
    return PolicyDetail.model_validate(row)


@router.post("/{version_id}/activate", response_model=PolicyPublic)
def activate_policy(version_id: VersionId, body: PolicyActivate, db: DbDep, principal: OperatorCaller) -> PolicyPublic:
    """Make a version the active one (the previously active version is deactivated in the same transaction)."""
    with db.write() as session:
        row = session.get(Policy, version_id)
        if row is None:
            raise not_found("policy version", version_id)
        previous = active_policy(session)
        before = snapshot(row, exclude=("source",))
        if previous is not None and previous.version_id != row.version_id:
            session.execute(update(Policy).where(Policy.version_id == previous.version_id).values(active=False))
        row.active = True
        row.activated_at = utcnow()
        session.flush()
        record_change(
            session,
            principal,
            action="policy.activate",
            resource_type="policy",
            resource_id=row.version_id,
            before=before,
            after=snapshot(row, exclude=("source",)),
            reason=body.reason,
        )
    return PolicyPublic.model_validate(row)
