"""``/api/v1/accounts``: customer accounts (country and type; owner name and contact are personal data).

Operators and regulators see :class:`~skyfence.service.schemas.AccountPublic`; analysts see
:class:`~skyfence.service.schemas.AccountRedacted`, without the owner's name and contact address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from skyfence.service.api.common import (
    After,
    CodeFilter,
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
from skyfence.service.core.security import Principal
from skyfence.service.models import Account, Operator
from skyfence.service.schemas import AccountCreate, AccountPublic, AccountRedacted, AccountUpdate, Page

router = APIRouter(prefix="/accounts", tags=["accounts"], route_class=JsonRoute)

AccountView = AccountPublic | AccountRedacted


def view(row: Account, principal: Principal) -> AccountPublic | AccountRedacted:
    """The account as the caller may see it (no personal data for analysts)."""
    if principal.role == "analyst":
        return AccountRedacted.model_validate(row)
    return AccountPublic.model_validate(row)


@router.get("", response_model=Page[AccountView])
def list_accounts(
    session: ReadSession,
    principal: Reader,
    scope: CallerScope,
    limit: Limit = 100,
    after: After = 0,
    operator_id: Annotated[str | None, Query(max_length=32)] = None,
    country: CodeFilter = None,
) -> Page[AccountView]:
    """List accounts, ordered by id (analysts get them without personal data; a regulator those of its country)."""
    rows = page_rows(
        session, Account, *scope.where(Account), after=after, limit=limit, operator_id=operator_id, country=country
    )
    return Page.of([view(r, principal) for r in rows], limit)


@router.post("", response_model=AccountPublic, status_code=201)
def create_account(body: AccountCreate, db: DbDep, principal: OperatorCaller) -> AccountPublic:
    """Open an account."""
    with db.write() as session:
        if session.get(Operator, body.operator_id) is None:
            raise ProblemError(
                422,
                f"body.operator_id: unknown operator {body.operator_id!r}",
                kind="validation-error",
                errors=[FieldProblem(field="body.operator_id", message="unknown operator")],
            )
        row = Account(**body.model_dump(exclude={"reason"}))
        add_audited(session, principal, row, kind="account", reason=body.reason)
    return AccountPublic.model_validate(row)


@router.get("/{account_id}", response_model=AccountView)
def get_account(account_id: PathId, session: ReadSession, principal: Reader, scope: CallerScope) -> AccountView:
    """One account (analysts get it without personal data; a regulator only of its country, else 404)."""
    row = get_in_scope(session, Account, account_id, "account", scope)
    return view(row, principal)


@router.patch("/{account_id}", response_model=AccountPublic)
def update_account(account_id: PathId, body: AccountUpdate, db: DbDep, principal: OperatorCaller) -> AccountPublic:
    """Change an account's owner, contact, country or type."""
    with db.write() as session:
        row = get_or_404(session, Account, account_id, "account")
        changes = body.model_dump(exclude={"reason"}, exclude_unset=True)
        update_audited(
            session, principal, row, changes, kind="account", reason=body.reason, nullable=("contact_email",)
        )
    return AccountPublic.model_validate(row)
