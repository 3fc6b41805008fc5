"""``/api/v1/telemetry``: position fixes in, decisions out.

``POST /telemetry/batches`` takes up to 10,000 fixes with an ``Idempotency-Key`` header (IETF
draft-ietf-httpapi-idempotency-key-header): retry a batch with the *same* key until a 2xx arrives and it is stored
exactly once; the answer to a retry of a stored batch is the original receipt with ``replayed: true``.  Keys are
scoped per API key (its rotation lineage): one client's keys never collide with, or reveal, another's.
``POST /telemetry/fixes`` takes one fix (the key is optional there).  Terminal keys post their own fixes only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from skyfence.service.api.common import After, IdFilter, Limit, not_found, page_rows
from skyfence.service.api.deps import AnyCaller, DbDep, Reader, ReadSession, SettingsDep, TelemetryWriter
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope
from skyfence.service.ingest import IngestResult, find_batch, ingest, replay_receipt
from skyfence.service.models import Fix
from skyfence.service.schemas import BatchIn, BatchReceipt, FixIn, FixPublic, Page

router = APIRouter(prefix="/telemetry", tags=["telemetry"], route_class=JsonRoute)

_KEY_PATTERN = r"^[A-Za-z0-9._:-]{8,128}$"
_KEY_HELP = "A unique key per batch (8-128 of A-Z a-z 0-9 . _ : -); retry with the same key and body."
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", pattern=_KEY_PATTERN, description=_KEY_HELP)]
OptionalIdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", pattern=_KEY_PATTERN, description=_KEY_HELP)
]
_REPLAY: dict[int | str, dict[str, Any]] = {
    200: {"model": BatchReceipt, "description": "A retry of a stored batch: the original receipt, replayed."}
}


def _answer(result: IngestResult) -> Response:
    """The receipt, serialised once (a 10,000-fix receipt is too big to validate twice)."""
    headers = {} if result.created else {"Idempotent-Replayed": "true"}
    return Response(
        content=result.content,
        status_code=201 if result.created else 200,
        media_type="application/json",
        headers=headers,
    )


@router.post("/batches", response_model=BatchReceipt, status_code=201, responses=_REPLAY)
def post_batch(
    body: BatchIn,
    idempotency_key: IdempotencyKey,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    principal: TelemetryWriter,
) -> Response:
    """Store a batch of fixes with their decisions, all or nothing, exactly once per Idempotency-Key."""
    result = ingest(db, settings, request.app.state.metrics, principal, body.fixes, idempotency_key)
    return _answer(result)


@router.post("/fixes", response_model=BatchReceipt, status_code=201, responses=_REPLAY)
def post_fix(
    body: FixIn,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    principal: TelemetryWriter,
    idempotency_key: OptionalIdempotencyKey = None,
) -> Response:
    """Store one fix with its decision."""
    result = ingest(db, settings, request.app.state.metrics, principal, [body], idempotency_key)
    return _answer(result)


@router.get("/batches/{idempotency_key}", response_model=BatchReceipt)
def get_batch(
    idempotency_key: Annotated[str, Path(pattern=_KEY_PATTERN, description=_KEY_HELP)],
    session: ReadSession,
    principal: AnyCaller,
) -> BatchReceipt:
    """The receipt of a batch the caller posted (keys are scoped per key lineage): after a crash or timeout, ask
    whether it arrived."""
    batch = find_batch(session, principal.scope, idempotency_key)
    if batch is None:
        raise not_found("batch with Idempotency-Key", idempotency_key)
    return replay_receipt(session, batch)


@router.get("/fixes", response_model=Page[FixPublic])
def list_fixes(
    session: ReadSession,
    _: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    terminal_id: IdFilter = None,
    batch_id: IdFilter = None,
) -> Page[FixPublic]:
    """Stored fixes, ordered by id (a regulator: those in its jurisdiction)."""
    rows = page_rows(
        session, Fix, *scope.where(Fix), after=after, limit=limit, terminal_id=terminal_id, batch_id=batch_id
    )
    items = [FixPublic.model_validate(r) for r in rows]
    return Page.of(items, limit)
