"""``/api/v1/terminals``: user terminals -- serial, account, registration country, plan, sale channel, status,
whitelist membership.  Every change is in the audit log; a terminal is retired by setting its status to
``deactivated`` (its telemetry and decisions stay)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from skyfence.service.api.common import (
    After,
    IdFilter,
    Limit,
    PathId,
    add_audited,
    get_or_404,
    page_rows,
    update_audited,
)
from skyfence.service.api.deps import DbDep, OperatorCaller, Reader, ReadSession
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import CallerScope, get_in_scope
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.models import Account, Terminal
from skyfence.service.schemas import Page, TerminalCreate, TerminalPublic, TerminalStatus, TerminalUpdate

router = APIRouter(prefix="/terminals", tags=["terminals"], route_class=JsonRoute)


@router.get("", response_model=Page[TerminalPublic])
def list_terminals(
    session: ReadSession,
    _: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    account_id: IdFilter = None,
    status: TerminalStatus | None = None,
    whitelisted: bool | None = None,
) -> Page[TerminalPublic]:
    """List terminals, ordered by id, optionally filtered (a regulator: those registered in its country)."""
    rows = page_rows(
        session,
        Terminal,
        *scope.where(Terminal),
        after=after,
        limit=limit,
        account_id=account_id,
        status=status,
        whitelisted=whitelisted,
    )
    items = [TerminalPublic.model_validate(r) for r in rows]
    return Page.of(items, limit)


@router.post("", response_model=TerminalPublic, status_code=201)
def create_terminal(body: TerminalCreate, db: DbDep, principal: OperatorCaller) -> TerminalPublic:
    """Register a terminal."""
    with db.write() as session:
        if session.get(Account, body.account_id) is None:
            raise ProblemError(
                422,
                f"body.account_id: unknown account {body.account_id}",
                kind="validation-error",
                errors=[FieldProblem(field="body.account_id", message="unknown account")],
            )
        if session.scalar(select(Terminal.id).where(Terminal.serial == body.serial)) is not None:
            raise ProblemError(409, f"a terminal with serial {body.serial!r} exists", kind="conflict")
        row = Terminal(**body.model_dump(exclude={"reason"}))
        add_audited(session, principal, row, kind="terminal", reason=body.reason)
    return TerminalPublic.model_validate(row)


@router.get("/{terminal_id}", response_model=TerminalPublic)
def get_terminal(terminal_id: PathId, session: ReadSession, _: Reader, scope: CallerScope) -> TerminalPublic:
    """One terminal (a regulator: registered in its country, else 404)."""
    row = get_in_scope(session, Terminal, terminal_id, "terminal", scope)
    return TerminalPublic.model_validate(row)


@router.patch("/{terminal_id}", response_model=TerminalPublic)
def update_terminal(terminal_id: PathId, body: TerminalUpdate, db: DbDep, principal: OperatorCaller) -> TerminalPublic:
    """Change a terminal's registration, plan, sale channel, status or whitelist membership."""
    with db.write() as session:
        row = get_or_404(session, Terminal, terminal_id, "terminal")
        changes = body.model_dump(exclude={"reason"}, exclude_unset=True)
        update_audited(session, principal, row, changes, kind="terminal", reason=body.reason)
    return TerminalPublic.model_validate(row)
