"""``/api/v1/operators``: satellite-internet operators (Starlink, OneWeb ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import select

from skyfence.service.api.common import Limit, add_audited, get_or_404, update_audited
from skyfence.service.api.deps import DbDep, OperatorCaller, Reader, ReadSession
from skyfence.service.api.routing import JsonRoute
from skyfence.service.core.problems import ProblemError
from skyfence.service.models import Operator
from skyfence.service.schemas import OperatorCreate, OperatorPublic, OperatorUpdate, Page

router = APIRouter(prefix="/operators", tags=["operators"], route_class=JsonRoute)

OperatorIdPath = Annotated[str, Path(max_length=32, examples=["starlink"])]


@router.get("", response_model=Page[OperatorPublic])
def list_operators(
    session: ReadSession,
    _: Reader,
    limit: Limit = 100,
    after: Annotated[str, Query(max_length=32, description="Return operators with an id after this.")] = "",
) -> Page[OperatorPublic]:
    """List operators, ordered by id."""
    rows = session.scalars(select(Operator).where(Operator.id > after).order_by(Operator.id).limit(limit)).all()
    items = [OperatorPublic.model_validate(row) for row in rows]
    return Page.of(items, limit)


@router.post("", response_model=OperatorPublic, status_code=status.HTTP_201_CREATED)
def create_operator(body: OperatorCreate, db: DbDep, principal: OperatorCaller) -> OperatorPublic:
    """Register an operator."""
    with db.write() as session:
        if session.get(Operator, body.id) is not None:
            raise ProblemError(409, f"operator {body.id!r} already exists", kind="conflict")
        row = Operator(id=body.id, name=body.name)
        add_audited(session, principal, row, kind="operator", reason=body.reason)
    return OperatorPublic.model_validate(row)


@router.get("/{operator_id}", response_model=OperatorPublic)
def get_operator(operator_id: OperatorIdPath, session: ReadSession, _: Reader) -> OperatorPublic:
    """One operator."""
    row = get_or_404(session, Operator, operator_id, "operator")
    return OperatorPublic.model_validate(row)


@router.patch("/{operator_id}", response_model=OperatorPublic)
def update_operator(
    operator_id: OperatorIdPath, body: OperatorUpdate, db: DbDep, principal: OperatorCaller
) -> OperatorPublic:
    """Rename an operator."""
    with db.write() as session:
        row = get_or_404(session, Operator, operator_id, "operator")
        update_audited(session, principal, row, {"name": body.name}, kind="operator", reason=body.reason)
    return OperatorPublic.model_validate(row)
