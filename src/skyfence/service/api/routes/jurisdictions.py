"""``/api/v1/jurisdictions/{jurisdiction}/service``: the regulator's view of service in its jurisdiction.

Terminals served and denied there, by reason (each terminal counted once, by its latest decision in the
jurisdiction), the licences with their conditions evaluated now (in force or why not), the whitelist size and the
operators' ground sites there.  A regulator sees its own jurisdiction only (403 otherwise); operators and analysts
see every jurisdiction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import func, select

from skyfence.service import registry
from skyfence.service.api.deps import ReadSession, allow
from skyfence.service.api.routes.licences import licence_public
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import require_own_jurisdiction
from skyfence.service.core.security import Principal
from skyfence.service.models import Decision, Enrolment, GroundSite, Licence, utcnow
from skyfence.service.schemas import GroundSitePublic, JurisdictionService, LicenceView, ServedCount

router = APIRouter(prefix="/jurisdictions", tags=["jurisdictions"], route_class=JsonRoute)

CodePath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.", examples=["TW"])]


def _viewer(
    jurisdiction: CodePath, principal: Annotated[Principal, Depends(allow("operator", "regulator", "analyst"))]
):
    require_own_jurisdiction(principal, jurisdiction, "the service")
    return principal


@router.get("/{jurisdiction}/service", response_model=JurisdictionService)
def service_view(
    jurisdiction: CodePath, session: ReadSession, _: Annotated[Principal, Depends(_viewer)]
) -> JurisdictionService:
    """Who is served and denied in the jurisdiction and why, its licences, whitelist and ground sites."""
    now = utcnow()
    latest = (
        select(func.max(Decision.id).label("id"))
        .where(Decision.country == jurisdiction)
        .group_by(Decision.terminal_id)
        .subquery()
    )
    rows = session.execute(
        select(Decision.decision, Decision.rule, Decision.reason, func.count())
        .join(latest, latest.c.id == Decision.id)
        .group_by(Decision.decision, Decision.rule, Decision.reason)
        .order_by(func.count().desc(), Decision.decision, Decision.rule)
    ).all()
    by_reason = [
        ServedCount.model_validate({"decision": d, "rule": r, "reason": why, "terminals": n}) for d, r, why, n in rows
    ]
    totals = {"allow": 0, "deny": 0, "degrade": 0}
    for entry in by_reason:
        totals[entry.decision] += entry.terminals
    state = registry.snapshot(session)
    views = []
    for row in session.scalars(select(Licence).where(Licence.jurisdiction == jurisdiction).order_by(Licence.id)):
        status = state.licences.get((row.operator_id, row.jurisdiction))
        why = status.why_not(now) if status is not None else "not evaluated"
        views.append(
            LicenceView(
                licence=licence_public(row),
                in_force=why is None,
                why_not=why,
                conditions_met=list(status.met) if status else [],
                conditions_unmet=list(status.unmet) if status else [],
            )
        )
    size = session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.jurisdiction == jurisdiction, Enrolment.revoked_at.is_(None))
    )
    sites = session.scalars(select(GroundSite).where(GroundSite.country == jurisdiction).order_by(GroundSite.id))
    return JurisdictionService(
        jurisdiction=jurisdiction,
        as_of=now,
        terminals_served=totals["allow"],
        terminals_denied=totals["deny"],
        terminals_degraded=totals["degrade"],
        by_reason=by_reason,
        licences=views,
        whitelist_size=int(size or 0),
        ground_sites=[GroundSitePublic.model_validate(s) for s in sites],
    )
