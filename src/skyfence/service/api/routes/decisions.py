"""``/api/v1/decisions``: what the policy engine decided for each stored fix, with the rule and a reason."""

from __future__ import annotations

from fastapi import APIRouter

from skyfence.service.api.common import After, CodeFilter, IdFilter, Limit, PathId, page_rows
from skyfence.service.api.deps import Reader, ReadSession
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope, get_in_scope
from skyfence.service.models import Decision
from skyfence.service.schemas import DecisionPublic, DecisionValue, Page

router = APIRouter(prefix="/decisions", tags=["decisions"], route_class=JsonRoute)


@router.get("", response_model=Page[DecisionPublic])
def list_decisions(
    session: ReadSession,
    _: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    terminal_id: IdFilter = None,
    decision: DecisionValue | None = None,
    country: CodeFilter = None,
) -> Page[DecisionPublic]:
    """Decisions, ordered by id, optionally for one terminal, one outcome or one country (a regulator: those on
    fixes in its jurisdiction)."""
    rows = page_rows(
        session,
        Decision,
        *scope.where(Decision),
        after=after,
        limit=limit,
        terminal_id=terminal_id,
        decision=decision,
        country=country,
    )
    items = [DecisionPublic.model_validate(r) for r in rows]
    return Page.of(items, limit)


@router.get("/{decision_id}", response_model=DecisionPublic)
def get_decision(decision_id: PathId, session: ReadSession, _: Reader, scope: CallerScope) -> DecisionPublic:
    """One decision (a regulator: on a fix in its jurisdiction, else 404)."""
    row = get_in_scope(session, Decision, decision_id, "decision", scope)
    return DecisionPublic.model_validate(row)
