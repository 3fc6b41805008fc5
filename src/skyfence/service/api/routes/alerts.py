"""``/api/v1/alerts``: alerts raised on ingestion -- of the policy (denials, repeated denials of one terminal,
suspicious rule hits) and of the behavioural detectors (drone, diversion, spoofing, roaming limit, geofence
probing; see :mod:`skyfence.service.detect`).

Readers (operators, regulators, analysts) list and filter them; operators acknowledge them, and each
acknowledgement is recorded in the audit log with the reason given.  A policy alert stays open until acknowledged;
while one is open, the same alert (terminal, kind, rule) is not raised again, so a terminal parked in a denied zone
makes one alert, not one per fix.  A detection alert is raised once per terminal and kind.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from skyfence.service.api.common import After, IdFilter, Limit, PathId, get_or_404, page_rows, record_change, snapshot
from skyfence.service.api.deps import DbDep, OperatorCaller, Reader, ReadSession
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope, get_in_scope
from skyfence.service.models import Alert, utcnow
from skyfence.service.schemas import AlertKind, AlertPublic, Page, ReasonIn

router = APIRouter(prefix="/alerts", tags=["alerts"], route_class=JsonRoute)

Since = Annotated[
    AwareDatetime | None,
    Query(description="Only alerts about fixes at or after this time (ISO 8601 with a UTC offset, e.g. ...Z)."),
]
Acknowledged = Annotated[
    bool | None, Query(description="true: only acknowledged alerts; false: only open ones; absent: both.")
]


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    session: ReadSession,
    _: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    terminal_id: IdFilter = None,
    kind: Annotated[list[AlertKind] | None, Query(description="Only these kinds (repeat for several).")] = None,
    since: Since = None,
    acknowledged: Acknowledged = None,
    open_only: Annotated[bool, Query(description="Same as acknowledged=false (kept for older clients).")] = False,
) -> Page[AlertPublic]:
    """Alerts, ordered by id, optionally of one terminal, some kinds, since a time, open or acknowledged (a
    regulator: those raised on a fix in its jurisdiction)."""
    where: list[Any] = scope.where(Alert)
    if kind:
        where.append(Alert.kind.in_(sorted(set(kind))))
    if since is not None:
        where.append(Alert.time >= since)
    if open_only or acknowledged is False:
        where.append(Alert.acknowledged_at.is_(None))
    elif acknowledged:
        where.append(Alert.acknowledged_at.is_not(None))
    rows = page_rows(session, Alert, *where, after=after, limit=limit, terminal_id=terminal_id)
    items = [AlertPublic.model_validate(r) for r in rows]
    return Page.of(items, limit)


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: PathId, session: ReadSession, _: Reader, scope: CallerScope) -> AlertPublic:
    """One alert (a regulator: raised on a fix in its jurisdiction, else 404)."""
    row = get_in_scope(session, Alert, alert_id, "alert", scope)
    return AlertPublic.model_validate(row)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge_alert(alert_id: PathId, body: ReasonIn, db: DbDep, principal: OperatorCaller) -> AlertPublic:
    """Mark an alert as handled, recorded in the audit log (acknowledging twice keeps the first acknowledgement)."""
    with db.write() as session:
        row = get_or_404(session, Alert, alert_id, "alert")
        if row.acknowledged_at is None:
            before = snapshot(row)
            row.acknowledged_at = utcnow()
            row.acknowledged_by = principal.key_id
            session.flush()
            record_change(
                session,
                principal,
                action="alert.acknowledge",
                resource_type="alert",
                resource_id=row.id,
                before=before,
                after=snapshot(row),
                reason=body.reason,
            )
    return AlertPublic.model_validate(row)
