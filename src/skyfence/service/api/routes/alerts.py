"""``/api/v1/alerts``: denials, repeated denials of one terminal, suspicious rule hits -- raised on ingestion.

An alert stays open until an operator acknowledges it; while one is open, the same alert (terminal, kind, rule)
is not raised again, so a terminal parked in a denied zone makes one alert, not one per fix.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from skyfence.service.api.common import After, IdFilter, Limit, PathId, get_or_404
from skyfence.service.api.deps import DbDep, OperatorCaller, Reader, ReadSession
from skyfence.service.models import Alert, utcnow
from skyfence.service.schemas import AlertKind, AlertPublic, Page, ReasonIn

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    session: ReadSession,
    _: Reader,
    limit: Limit = 100,
    after: After = 0,
    terminal_id: IdFilter = None,
    kind: AlertKind | None = None,
    open_only: bool = False,
) -> Page[AlertPublic]:
    """Alerts, ordered by id."""
    query = select(Alert).where(Alert.id > after)
    if terminal_id is not None:
        query = query.where(Alert.terminal_id == terminal_id)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    rows = session.scalars(query.order_by(Alert.id).limit(limit)).all()
    items = [AlertPublic.model_validate(r) for r in rows]
    return Page(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: PathId, session: ReadSession, _: Reader) -> AlertPublic:
    """One alert."""
    row = get_or_404(session, Alert, alert_id, "alert")
    return AlertPublic.model_validate(row)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge_alert(alert_id: PathId, body: ReasonIn, db: DbDep, principal: OperatorCaller) -> AlertPublic:
    """Mark an alert as handled (acknowledging twice keeps the first acknowledgement)."""
    with db.write() as session:
        row = get_or_404(session, Alert, alert_id, "alert")
        if row.acknowledged_at is None:
            row.acknowledged_at = utcnow()
            row.acknowledged_by = principal.key_id
    return AlertPublic.model_validate(row)
