"""``/api/v1/licences``: an operator's licence in a jurisdiction -- the operator applies, the regulator decides.

Lifecycle (:data:`skyfence.policy.model.LICENCE_TRANSITIONS`): ``applied → pending_regulatory | denied`` (the
regulator reviews an application or refuses it outright), ``pending_regulatory → granted | denied``,
``granted → suspended | revoked``, ``suspended → granted | revoked``; a denied or revoked operator applies again.
An illegal transition is a 409 naming the allowed next states.

Who: an operator applies (``POST``, always ``applied``), re-applies (``state = "applied"``), edits the note and
withdraws an application still ``applied`` (``DELETE``).  The regulator of the licence's jurisdiction does all of
that and decides: every other state, the structured ``conditions``, the authority.  A regulator of another
jurisdiction does not see the licence (:mod:`skyfence.service.api.scope`): 404 on reading, changing or deleting
it, 403 on applying in that jurisdiction.  Every change is audited and bumps the registry version, so decisions of
policies with ``licences_from = "registry"`` follow it from the next batch on.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from skyfence.service import registry
from skyfence.service.api.common import (
    After,
    CodeFilter,
    Limit,
    PathId,
    add_audited,
    delete_audited,
    page_rows,
    update_audited,
)
from skyfence.service.api.deps import DbDep, LicenceManager, Reader, ReadSession, require_jurisdiction
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope, get_in_scope, scope_of
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.core.security import Principal
from skyfence.service.models import Licence, Operator
from skyfence.service.schemas import (
    LicenceConditions,
    LicenceCreate,
    LicencePublic,
    LicenceState,
    LicenceUpdate,
    Page,
    Reason,
)

router = APIRouter(prefix="/licences", tags=["licences"], route_class=JsonRoute)


def _transitions() -> dict[str, tuple[str, ...]]:
    from skyfence.policy.model import LICENCE_TRANSITIONS  # imported late: the policy stack is heavy (start-up time)

    return LICENCE_TRANSITIONS


def licence_public(row: Licence) -> LicencePublic:
    """The wire form of a licence row: structured conditions and the states it may move to next."""
    return LicencePublic(
        id=row.id,
        operator_id=row.operator_id,
        jurisdiction=row.jurisdiction,
        state=row.state,  # type: ignore[arg-type]
        conditions=LicenceConditions.model_validate(registry.conditions_of(row)),
        allowed_next=list(_transitions().get(row.state, ())),  # type: ignore[arg-type]
        authority=row.authority,
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(conditions: LicenceConditions) -> dict[str, Any]:
    return {
        "local_gateway": conditions.local_gateway_required,
        "local_ownership_min_pct": conditions.local_ownership_min_pct,
        "foreign_ownership_max_pct": conditions.foreign_ownership_max_pct,
        "lawful_intercept": conditions.lawful_intercept,
        "expires_on": conditions.expires,
    }


@router.get("", response_model=Page[LicencePublic])
def list_licences(
    session: ReadSession,
    _: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    operator_id: Annotated[str | None, Query(max_length=32)] = None,
    jurisdiction: CodeFilter = None,
    state: LicenceState | None = None,
) -> Page[LicencePublic]:
    """List licences, ordered by id, optionally filtered (a regulator: those of its jurisdiction)."""
    rows = page_rows(
        session,
        Licence,
        *scope.where(Licence),
        after=after,
        limit=limit,
        operator_id=operator_id,
        jurisdiction=jurisdiction,
        state=state,
    )
    items = [licence_public(r) for r in rows]
    return Page.of(items, limit)


@router.post("", response_model=LicencePublic, status_code=201)
def create_licence(body: LicenceCreate, db: DbDep, principal: LicenceManager) -> LicencePublic:
    """Apply for a licence (regulators: record an application in their own jurisdiction)."""
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
                f"licence {existing} already covers {body.operator_id} in {body.jurisdiction} (apply again with "
                f'PATCH /api/v1/licences/{existing} {{"state": "applied"}} once it is denied or revoked)',
                kind="conflict",
            )
        row = Licence(
            operator_id=body.operator_id,
            jurisdiction=body.jurisdiction,
            state="applied",
            authority=body.authority,
            note=body.note,
        )
        add_audited(session, principal, row, kind="licence", reason=body.reason, action="apply")
        registry.bump(session)
    return licence_public(row)


@router.get("/{licence_id}", response_model=LicencePublic)
def get_licence(licence_id: PathId, session: ReadSession, _: Reader, scope: CallerScope) -> LicencePublic:
    """One licence (a regulator: of its jurisdiction, else 404)."""
    row = get_in_scope(session, Licence, licence_id, "licence", scope)
    return licence_public(row)


def _operator_may(principal: Principal, row: Licence, changes: dict[str, Any]) -> None:
    """An operator applies (again) and edits notes; everything else is the regulator's decision."""
    if principal.role != "operator":
        return
    decided = [k for k in changes if k not in ("state", "note")]
    if changes.get("state") not in (None, "applied", row.state) or decided:
        what = "conditions" if "conditions" in changes else f"state {changes.get('state') or ', '.join(decided)}"
        raise ProblemError(
            403,
            f"the regulator of {row.jurisdiction} decides licences ({what}); an operator applies and edits notes",
        )


@router.patch("/{licence_id}", response_model=LicencePublic)
def update_licence(licence_id: PathId, body: LicenceUpdate, db: DbDep, principal: LicenceManager) -> LicencePublic:
    """Decide on a licence (a state along the allowed transitions), set its conditions, authority or note."""
    with db.write() as session:
        row = get_in_scope(session, Licence, licence_id, "licence", scope_of(principal))
        changes = body.model_dump(exclude={"reason"}, exclude_unset=True)
        _operator_may(principal, row, changes)
        new_state = changes.get("state")
        transitions = _transitions()
        if new_state is not None and new_state != row.state and new_state not in transitions[row.state]:
            allowed = ", ".join(transitions[row.state]) or "none"
            raise ProblemError(
                409,
                f"a licence cannot go from {row.state} to {new_state} (allowed next: {allowed})",
                kind="invalid-transition",
            )
        if body.conditions is not None:
            changes.pop("conditions")
            changes.update(_columns(body.conditions))
        action = "update"
        if new_state is not None and new_state != row.state:
            action = {"applied": "apply"}.get(new_state, new_state)
        nullable = ("expires_on", "local_ownership_min_pct", "foreign_ownership_max_pct")
        update_audited(
            session, principal, row, changes, kind="licence", reason=body.reason, nullable=nullable, action=action
        )
        registry.bump(session)
    return licence_public(row)


@router.delete("/{licence_id}", status_code=204, response_class=Response)
def delete_licence(
    licence_id: PathId,
    db: DbDep,
    principal: LicenceManager,
    reason: Annotated[Reason, Query(description="Why the licence is deleted; recorded in the audit log.")],
) -> Response:
    """Withdraw an application (operators: while ``applied``) or delete a record entered in error (regulators; to
    end a licence, revoke it)."""
    with db.write() as session:
        row = get_in_scope(session, Licence, licence_id, "licence", scope_of(principal))
        if principal.role == "operator" and row.state != "applied":
            raise ProblemError(
                403,
                f"an operator may withdraw only an application still applied; licence {licence_id} is {row.state} "
                f"(the regulator of {row.jurisdiction} revokes it)",
            )
        delete_audited(session, principal, row, kind="licence", reason=reason)
        registry.bump(session)
    return Response(status_code=204)
