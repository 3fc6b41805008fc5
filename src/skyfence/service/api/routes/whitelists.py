"""``/api/v1/whitelists/{jurisdiction}``: a jurisdiction's whitelist of verified terminals.

The regulator of the jurisdiction -- or a key it delegates to (``/delegates``; the delegation follows the key
through its rotations) -- enrols terminals with a reference to the verification evidence (never the evidence itself)
and revokes them. Enrolment takes up to 10,000 terminals a request, as JSON (``{"items": [...]}``) or as CSV
(``Content-Type: text/csv``, columns ``serial`` or ``terminal_id``, and ``evidence_ref``; the reason in the
``reason`` query parameter); it is all or nothing, and a bad row is named by its index (``body.items[17].serial``);
a terminal named twice (by serial or id) is a 422 naming both rows. Operators and analysts read whitelists; a
regulator of another jurisdiction gets 403 on every whitelist action, reads included. Policies with
``whitelists_from = "registry"`` read the enrolments at every batch (:mod:`skyfence.service.registry`). Each request
is one audit entry (the digest covers every terminal and evidence reference)."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from skyfence.service.api.common import After, Limit, page_rows, record_change
from skyfence.service.api.deps import DbDep, ReadSession, allow
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import require_own_jurisdiction
from skyfence.service.core.problems import FieldProblem, ProblemError, invalid_json, parse_json, quoted
from skyfence.service.core.security import Principal
from skyfence.service.models import ApiKey, Enrolment, Terminal, WhitelistDelegate, utcnow
from skyfence.service.schemas import (
    MAX_ENROLMENTS,
    DelegateIn,
    DelegatePublic,
    EnrolmentBulk,
    EnrolmentPublic,
    EnrolmentReceipt,
    EnrolmentRevoke,
    Page,
    Reason,
)

router = APIRouter(prefix="/whitelists/{jurisdiction}", tags=["whitelists"], route_class=JsonRoute)

CodePath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.", examples=["UA"])]
_CALLERS = ("operator", "regulator", "analyst")


def _delegated(session: Session, principal: Principal, jurisdiction: str) -> bool:
    lineage = principal.lineage or principal.key_id
    found = session.scalar(
        select(WhitelistDelegate.id).where(
            WhitelistDelegate.jurisdiction == jurisdiction, WhitelistDelegate.lineage == lineage
        )
    )
    return found is not None


def _reader(jurisdiction: CodePath, principal: Annotated[Principal, Depends(allow(*_CALLERS))]) -> Principal:
    require_own_jurisdiction(principal, jurisdiction, "the whitelist")
    return principal


def _manager(
    jurisdiction: CodePath, principal: Annotated[Principal, Depends(allow(*_CALLERS))], db: DbDep
) -> Principal:
    """The jurisdiction's regulator, or a key it delegated the whitelist to."""
    if principal.role == "regulator" and principal.jurisdiction == jurisdiction:
        return principal
    with db.read() as session:
        if _delegated(session, principal, jurisdiction):
            return principal
    if principal.role == "regulator":
        raise ProblemError(403, f"regulator of {principal.jurisdiction} may not manage the whitelist of {jurisdiction}")
    raise ProblemError(
        403, f"only the regulator of {jurisdiction}, or a key it delegates to, manages the whitelist of {jurisdiction}"
    )


def _regulator(jurisdiction: CodePath, principal: Annotated[Principal, Depends(allow("regulator"))]) -> Principal:
    if principal.jurisdiction != jurisdiction:
        raise ProblemError(403, f"regulator of {principal.jurisdiction} may not delegate in {jurisdiction}")
    return principal


WhitelistReader = Annotated[Principal, Depends(_reader)]
WhitelistManager = Annotated[Principal, Depends(_manager)]
Regulator = Annotated[Principal, Depends(_regulator)]


def _size(session: Session, jurisdiction: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.jurisdiction == jurisdiction, Enrolment.revoked_at.is_(None))
        )
        or 0
    )


@router.get("/enrolments", response_model=Page[EnrolmentPublic])
def list_enrolments(
    jurisdiction: CodePath,
    session: ReadSession,
    _: WhitelistReader,
    limit: Limit = 100,
    after: After = 0,
    include_revoked: bool = False,
) -> Page[EnrolmentPublic]:
    """Enrolments of the whitelist, ordered by id (active ones unless ``include_revoked``)."""
    active = () if include_revoked else (Enrolment.revoked_at.is_(None),)
    rows = page_rows(session, Enrolment, *active, after=after, limit=limit, jurisdiction=jurisdiction)
    items = [EnrolmentPublic.model_validate(r) for r in rows]
    return Page.of(items, limit)


def _csv_items(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    repeated = sorted({name for name in reader.fieldnames or [] if (reader.fieldnames or []).count(name) > 1})
    if repeated:  # csv.DictReader keeps the last column of a name: refuse, as a repeated JSON key is refused
        names = ", ".join(quoted(name) for name in repeated)
        raise ProblemError(
            422,
            f"body: the CSV header names {names} more than once (name each column once)",
            kind="validation-error",
            errors=[FieldProblem(field="body", message=f"header line 1: column {names} repeated")],
        )
    fields = set(reader.fieldnames or [])
    if "evidence_ref" not in fields or not ({"serial", "terminal_id"} & fields):
        raise ProblemError(
            422,
            "body: the CSV needs a header with evidence_ref and serial or terminal_id",
            kind="validation-error",
            errors=[FieldProblem(field="body", message="header: serial or terminal_id, evidence_ref")],
        )
    items = []
    for row in reader:
        item: dict[str, Any] = {"evidence_ref": row.get("evidence_ref") or ""}
        if row.get("serial"):
            item["serial"] = row["serial"]
        if row.get("terminal_id"):
            item["terminal_id"] = row["terminal_id"]
        items.append(item)
        if len(items) > MAX_ENROLMENTS:
            break
    return items


async def _bulk_body(request: Request, reason: str | None) -> EnrolmentBulk:
    """JSON or CSV → :class:`EnrolmentBulk`; errors name ``body.items[i].<field>`` (as request validation does)."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 text (byte {error.start}; send the body encoded as UTF-8)"
        if kind == "text/csv":
            raise RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": reason}]) from None
        raise invalid_json(reason) from None
    reason_in_query = kind == "text/csv"  # a CSV body carries no reason: it comes as ?reason=
    if kind == "text/csv":
        data: Any = {"items": _csv_items(text), "reason": reason}
    elif kind in ("application/json", ""):
        try:
            data = parse_json(raw)
        except json.JSONDecodeError as error:
            raise invalid_json(f"{error.msg} at line {error.lineno}, column {error.colno}") from None
        except RecursionError:
            raise invalid_json(
                "nested too deeply (flatten it: a few levels of arrays and objects are enough)"
            ) from None
        if reason is not None and isinstance(data, dict) and "reason" not in data:
            data["reason"] = reason
            reason_in_query = True
    else:
        raise ProblemError(
            415,
            f"body: {quoted(kind)} is not accepted here (accepted: application/json or text/csv)",
            kind="unsupported-media-type",
        )

    def where(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        return ("query", *loc) if reason_in_query and loc[:1] == ("reason",) else ("body", *loc)

    try:
        return EnrolmentBulk.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": where(e["loc"])} for e in error.errors(include_url=False, include_context=False)]
        ) from None


def _resolve(session: Session, items: list[Any]) -> list[int]:
    """Terminal ids of the items, in order; an unknown terminal is a 422 naming its row index."""
    serials = sorted({i.serial for i in items if i.serial is not None})
    ids = sorted({i.terminal_id for i in items if i.terminal_id is not None})
    by_serial: dict[str, int] = {}
    known: set[int] = set()
    for chunk in range(0, len(serials), 5000):
        part = serials[chunk : chunk + 5000]
        by_serial.update(session.execute(select(Terminal.serial, Terminal.id).where(Terminal.serial.in_(part))).all())
    for chunk in range(0, len(ids), 5000):
        part_ids = ids[chunk : chunk + 5000]
        known.update(session.scalars(select(Terminal.id).where(Terminal.id.in_(part_ids))))
    out = []
    first_row: dict[int, tuple[int, str]] = {}
    for index, item in enumerate(items):
        if item.serial is not None:
            found = by_serial.get(item.serial)
            field, value = "serial", item.serial
        else:
            found = item.terminal_id if item.terminal_id in known else None
            field, value = "terminal_id", item.terminal_id
        if found is not None and found in first_row:  # one row a terminal: a second one would drop its evidence
            earlier, earlier_field = first_row[found]
            names = (f"body.items[{earlier}].{earlier_field}", f"body.items[{index}].{field}")
            raise ProblemError(
                422,
                f"{names[1]}: terminal {value!r} (id {found}) is also in row {earlier} ({names[0]}); enrol each "
                "terminal once a request, with all its evidence references in one evidence_ref; nothing was enrolled",
                kind="validation-error",
                errors=[FieldProblem(field=name, message=f"terminal {found} repeated") for name in names],
            )
        if found is not None:
            first_row[found] = (index, field)
        if found is None:
            name = f"body.items[{index}].{field}"
            raise ProblemError(
                422,
                f"{name}: unknown terminal {value!r} (row {index}; register it with POST /api/v1/terminals first); "
                "nothing was enrolled",
                kind="validation-error",
                errors=[FieldProblem(field=name, message="unknown terminal")],
            )
        out.append(found)
    return out


def _existing(session: Session, jurisdiction: str, terminal_ids: list[int]) -> dict[int, Enrolment]:
    found: dict[int, Enrolment] = {}
    unique = sorted(set(terminal_ids))
    for chunk in range(0, len(unique), 5000):
        part = unique[chunk : chunk + 5000]
        query = select(Enrolment).where(Enrolment.jurisdiction == jurisdiction, Enrolment.terminal_id.in_(part))
        found.update({e.terminal_id: e for e in session.scalars(query)})
    return found


_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": EnrolmentBulk.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "text/csv": {"schema": {"type": "string", "example": "serial,evidence_ref\nUT-UA-0001,MDT-2026-000123\n"}},
        },
    }
}


@router.post("/enrolments", response_model=EnrolmentReceipt, status_code=201, openapi_extra=_BULK_BODY)
async def enrol(
    jurisdiction: CodePath,
    request: Request,
    db: DbDep,
    principal: WhitelistManager,
    reason: Annotated[Reason | None, Query(description="Why (CSV bodies; JSON bodies carry `reason`).")] = None,
) -> EnrolmentReceipt:
    """Enrol up to 10,000 terminals (JSON or CSV), all or nothing."""
    body = await _bulk_body(request, reason)
    return await run_in_threadpool(_enrol, db, principal, jurisdiction, body)


def _enrol(db: Any, principal: Principal, jurisdiction: str, body: EnrolmentBulk) -> EnrolmentReceipt:
    now = utcnow()
    with db.write() as session:
        terminal_ids = _resolve(session, body.items)
        existing = _existing(session, jurisdiction, terminal_ids)
        new_rows: dict[int, dict[str, Any]] = {}
        again: list[tuple[int, str]] = []
        already = 0
        for item, terminal_id in zip(body.items, terminal_ids, strict=True):
            row = existing.get(terminal_id)
            if row is None:
                new_rows[terminal_id] = {
                    "jurisdiction": jurisdiction,
                    "terminal_id": terminal_id,
                    "evidence_ref": item.evidence_ref,
                    "enrolled_at": now,
                    "enrolled_by": principal.label,
                }
            elif row.revoked_at is not None:
                again.append((row.id, item.evidence_ref))
            else:
                already += 1
        if new_rows:
            session.execute(insert(Enrolment), list(new_rows.values()))
        for enrolment_id, evidence in again:
            session.execute(
                update(Enrolment)
                .where(Enrolment.id == enrolment_id)
                .values(
                    revoked_at=None,
                    revoked_by=None,
                    evidence_ref=evidence,
                    enrolled_at=now,
                    enrolled_by=principal.label,
                )
            )
        record_change(
            session,
            principal,
            action="whitelist.enrol",
            resource_type="whitelist",
            resource_id=jurisdiction,
            before=None,
            after={
                "jurisdiction": jurisdiction,
                "terminal_ids": terminal_ids,
                "evidence_refs": [i.evidence_ref for i in body.items],
            },
            reason=body.reason,
        )
        size = _size(session, jurisdiction)
    return EnrolmentReceipt(
        jurisdiction=jurisdiction, enrolled=len(new_rows) + len(again), already_enrolled=already, whitelist_size=size
    )


@router.post("/revocations", response_model=EnrolmentReceipt)
def revoke(jurisdiction: CodePath, body: EnrolmentRevoke, db: DbDep, principal: WhitelistManager) -> EnrolmentReceipt:
    """Take terminals off the whitelist (effective for their next fix)."""
    with db.write() as session:
        by_serial: dict[str, int] = {}
        if body.serials:
            by_serial = dict(
                session.execute(select(Terminal.serial, Terminal.id).where(Terminal.serial.in_(body.serials))).all()
            )
            for index, serial in enumerate(body.serials):
                if serial not in by_serial:
                    name = f"body.serials[{index}]"
                    raise ProblemError(
                        422,
                        f"{name}: unknown terminal {serial!r}; nothing was revoked",
                        kind="validation-error",
                        errors=[FieldProblem(field=name, message="unknown terminal")],
                    )
        wanted = sorted(set(body.terminal_ids) | set(by_serial.values()))
        existing = _existing(session, jurisdiction, wanted)
        active = [e.id for e in existing.values() if e.revoked_at is None]
        if active:
            session.execute(
                update(Enrolment)
                .where(Enrolment.id.in_(active))
                .values(revoked_at=utcnow(), revoked_by=principal.label)
            )
        record_change(
            session,
            principal,
            action="whitelist.revoke",
            resource_type="whitelist",
            resource_id=jurisdiction,
            before={"jurisdiction": jurisdiction, "enrolment_ids": sorted(active)},
            after=None,
            reason=body.reason,
        )
        size = _size(session, jurisdiction)
    return EnrolmentReceipt(
        jurisdiction=jurisdiction, revoked=len(active), not_enrolled=len(wanted) - len(active), whitelist_size=size
    )


@router.get("/delegates", response_model=Page[DelegatePublic])
def list_delegates(jurisdiction: CodePath, session: ReadSession, _: WhitelistReader) -> Page[DelegatePublic]:
    """Keys the jurisdiction's regulator delegated its whitelist to."""
    rows = session.scalars(
        select(WhitelistDelegate).where(WhitelistDelegate.jurisdiction == jurisdiction).order_by(WhitelistDelegate.id)
    ).all()
    return Page(items=[DelegatePublic.model_validate(r) for r in rows])


@router.post("/delegates", response_model=DelegatePublic, status_code=201)
def delegate(jurisdiction: CodePath, body: DelegateIn, db: DbDep, principal: Regulator) -> DelegatePublic:
    """Let a key manage this jurisdiction's whitelist (regulator of the jurisdiction only)."""
    with db.write() as session:
        key = session.get(ApiKey, body.key_id)
        if key is None or key.revoked_at is not None:
            raise ProblemError(
                422,
                f"body.key_id: no active key {body.key_id}",
                kind="validation-error",
                errors=[FieldProblem(field="body.key_id", message="no such active key")],
            )
        if key.role == "terminal":
            raise ProblemError(
                422,
                "body.key_id: a terminal key cannot manage a whitelist",
                kind="validation-error",
                errors=[FieldProblem(field="body.key_id", message="terminal key")],
            )
        if _delegated(session, Principal(key_id=key.id, role=key.role, lineage=key.lineage), jurisdiction):
            raise ProblemError(409, f"key {body.key_id} already manages the whitelist of {jurisdiction}")
        row = WhitelistDelegate(jurisdiction=jurisdiction, lineage=key.lineage, created_by=principal.label)
        session.add(row)
        session.flush()
        record_change(
            session,
            principal,
            action="whitelist.delegate",
            resource_type="whitelist",
            resource_id=jurisdiction,
            before=None,
            after={"jurisdiction": jurisdiction, "lineage": key.lineage},
            reason=body.reason,
        )
    return DelegatePublic.model_validate(row)


@router.delete("/delegates/{delegate_id}", status_code=204, response_class=Response)
def undelegate(
    jurisdiction: CodePath,
    delegate_id: Annotated[int, Path(ge=1, le=2**62)],
    db: DbDep,
    principal: Regulator,
    reason: Annotated[Reason, Query(description="Why; recorded in the audit log.")],
) -> Response:
    """End a delegation."""
    with db.write() as session:
        row = session.get(WhitelistDelegate, delegate_id)
        if row is None or row.jurisdiction != jurisdiction:
            raise ProblemError(404, f"no delegation {delegate_id} in {jurisdiction}", kind="not-found")
        session.delete(row)
        record_change(
            session,
            principal,
            action="whitelist.undelegate",
            resource_type="whitelist",
            resource_id=jurisdiction,
            before={"jurisdiction": jurisdiction, "lineage": row.lineage},
            after=None,
            reason=reason,
        )
    return Response(status_code=204)
