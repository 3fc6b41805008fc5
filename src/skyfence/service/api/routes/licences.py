"""``/api/v1/licences``: an operator's licence in a jurisdiction, as the regulator records it.

Operators manage every licence; a regulator manages the licences of its own jurisdiction only (and reads all).
State changes follow the policy model's transitions (``none → applied → pending_regulatory → granted | denied``,
``granted → revoked``, a denied or revoked operator may apply again).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from skyfence.service.api.common import (
    After,
    CodeFilter,
    Limit,
    PathId,
    add_audited,
    get_or_404,
    record_change,
    snapshot,
    update_audited,
)
from skyfence.service.api.deps import DbDep, LicenceManager, Reader, ReadSession, require_jurisdiction
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.models import Licence, Operator
from skyfence.service.schemas import LicenceCreate, LicencePublic, LicenceState, LicenceUpdate, Page, Reason

router = APIRouter(prefix="/licences", tags=["licences"])


@router.get("", response_model=Page[LicencePublic])
def list_licences(
    session: ReadSession,
    _: Reader,
    limit: Limit = 100,
    after: After = 0,
    operator_id: Annotated[str | None, Query(max_length=32)] = None,
    jurisdiction: CodeFilter = None,
    state: LicenceState | None = None,
) -> Page[LicencePublic]:
    """List licences, ordered by id, optionally filtered."""
    query = select(Licence).where(Licence.id > after)
    if operator_id is not None:
        query = query.where(Licence.operator_id == operator_id)
    if jurisdiction is not None:
        query = query.where(Licence.jurisdiction == jurisdiction)
    if state is not None:
        query = query.where(Licence.state == state)
    rows = session.scalars(query.order_by(Licence.id).limit(limit)).all()
    items = [LicencePublic.model_validate(r) for r in rows]
    return Page(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.post("", response_model=LicencePublic, status_code=201)
def create_licence(body: LicenceCreate, db: DbDep, principal: LicenceManager) -> LicencePublic:
    """Record a licence (regulators: in their own jurisdiction)."""
    require_jurisdiction(principal, body.jurisdiction)
    with db.write() as session:
        if session.get(Operator, body.operator_id) is None:
            raise ProblemError(
                422,
                f"body.operator_id: unknown operator {body.operator_id!r}",
                kind="validation-error",
                errors=[FieldProblem(field="body.operator_id", message="unknown operator")],
            )
        clash = select(Licence.id).where(
            Licence.operator_id == body.operator_id, Licence.jurisdiction == body.jurisdiction
        )
        existing = session.scalar(clash)
        if existing is not None:
            raise ProblemError(
                409,
                f"licence {existing} already covers {body.operator_id} in {body.jurisdiction} (update it)",
                kind="conflict",
            )
        row = Licence(**body.model_dump(exclude={"reason"}))
        add_audited(session, principal, row, kind="licence", reason=body.reason)
    return LicencePublic.model_validate(row)


@router.get("/{licence_id}", response_model=LicencePublic)
def get_licence(licence_id: PathId, session: ReadSession, _: Reader) -> LicencePublic:
    """One licence."""
    row = get_or_404(session, Licence, licence_id, "licence")
    return LicencePublic.model_validate(row)


@router.patch("/{licence_id}", response_model=LicencePublic)
def update_licence(licence_id: PathId, body: LicenceUpdate, db: DbDep, principal: LicenceManager) -> LicencePublic:
    """Change a licence's state (along the allowed transitions), conditions, expiry or notes."""
    with db.write() as session:
        row = get_or_404(session, Licence, licence_id, "licence")
        require_jurisdiction(principal, row.jurisdiction)
        changes = body.model_dump(exclude={"reason"}, exclude_unset=True)
        new_state = changes.get("state")
        from skyfence.policy import LICENCE_TRANSITIONS  # imported late: the policy stack is heavy (start-up time)

        if new_state is not None and new_state != row.state and new_state not in LICENCE_TRANSITIONS[row.state]:
            allowed = ", ".join(LICENCE_TRANSITIONS[row.state])
            raise ProblemError(
                409,
                f"a licence cannot go from {row.state} to {new_state} (allowed next: {allowed})",
                kind="invalid-transition",
            )
        update_audited(session, principal, row, changes, kind="licence", reason=body.reason, nullable=("expires_on",))
    return LicencePublic.model_validate(row)


@router.delete("/{licence_id}", status_code=204, response_class=Response)
def delete_licence(
    licence_id: PathId,
    db: DbDep,
    principal: LicenceManager,
    reason: Annotated[Reason, Query(description="Why the licence is deleted; recorded in the audit log.")],
) -> Response:
    """Delete a licence record entered in error (to end a licence, set its state to revoked)."""
    with db.write() as session:
        row = get_or_404(session, Licence, licence_id, "licence")
        require_jurisdiction(principal, row.jurisdiction)
        before = snapshot(row)
        session.delete(row)
        session.flush()
        record_change(
            session,
            principal,
            action="licence.delete",
            resource_type="licence",
            resource_id=licence_id,
            before=before,
            after=None,
            reason=reason,
        )
    return Response(status_code=204)
