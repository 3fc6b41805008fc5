"""``/api/v1/audit``: the hash-chained audit log, and its verification."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy import select

from skyfence.service import audit
from skyfence.service.api.common import After, Limit
from skyfence.service.api.deps import Reader, ReadSession
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope
from skyfence.service.models import AuditRow
from skyfence.service.schemas import AuditRowPublic, AuditVerification, Page

router = APIRouter(prefix="/audit", tags=["audit"], route_class=JsonRoute)


def public_row(row: AuditRow) -> AuditRowPublic:
    fields = json.loads(row.fields) if row.fields.startswith("[") else []
    data = {name: getattr(row, name) for name in AuditRowPublic.model_fields if name != "fields"}
    return AuditRowPublic(**data, fields=[str(f) for f in fields])


@router.get("", response_model=Page[AuditRowPublic])
def list_audit(
    session: ReadSession, _: Reader, scope: CallerScope, limit: Limit = 100, after: After = 0
) -> Page[AuditRowPublic]:
    """Audit rows in order (``after`` is a seq; a regulator: the entries about its jurisdiction)."""
    query = select(AuditRow).where(AuditRow.seq > after, *scope.where(AuditRow))
    rows = session.scalars(query.order_by(AuditRow.seq).limit(limit)).all()
    items = [public_row(r) for r in rows]
    return Page.of(items, limit, key="seq")


@router.get("/verify", response_model=AuditVerification)
def verify_audit(session: ReadSession, _: Reader) -> AuditVerification:
    """Walk the hash chain; ``ok`` is false and ``first_bad_seq`` names the first bad row if it was tampered with."""
    result = audit.verify(session)
    return AuditVerification(
        ok=result.ok,
        rows=result.rows,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
    )
