"""``/api/v1/ground-sites`` and ``/api/v1/operators/{operator_id}/ownership/{jurisdiction}``: what licence
conditions are checked against.

A ground site (gateway or PoP) is placed in a country with Natural Earth when it is stored (the same placement as
:func:`skyfence.network.ground.site_countries`, which snaps a coastal site to the nearest country within 0.3°); a
point outside every country is refused (422 naming ``body.lat_deg``), since it could never meet a jurisdiction's
condition.  Operators manage their sites; every reader reads sites and ownership records.  Every change is audited
and bumps the registry version (:mod:`skyfence.service.registry`).

**Ownership records** feed the licence conditions ``local_ownership_min_pct`` / ``foreign_ownership_max_pct``, so
the operator must not be able to meet a condition by saying so.  The operator *declares* its record while no
licence there holds it to ownership bounds yet: the regulator reads the declaration (``GET``, the service view)
before it grants, so the grant is the check.  Once a licence of the operator in that jurisdiction is granted or
suspended with ownership bounds, the record is the one the regulator decided on: only the regulator of the
jurisdiction changes it (the operator gets 403 saying so).  A regulator of another jurisdiction never writes it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from skyfence.service import registry
from skyfence.service.api.common import (
    After,
    CodeFilter,
    Limit,
    PathId,
    add_audited,
    delete_audited,
    get_or_404,
    page_rows,
    update_audited,
)
from skyfence.service.api.deps import DbDep, LicenceManager, OperatorCaller, Reader, ReadSession, require_jurisdiction
from skyfence.service.api.routing import JsonRoute
from skyfence.service.api.scope import require_own_jurisdiction
from skyfence.service.core.problems import FieldProblem, ProblemError
from skyfence.service.core.security import Principal
from skyfence.service.models import GroundSite, Licence, Operator, Ownership, utcnow
from skyfence.service.schemas import (
    GroundSiteCreate,
    GroundSitePublic,
    GroundSiteUpdate,
    OwnershipIn,
    OwnershipPublic,
    Page,
    Reason,
)

router = APIRouter(tags=["ground segment"], route_class=JsonRoute)

OperatorIdPath = Annotated[str, Path(max_length=32, examples=["starlink"])]
CodePath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", examples=["TW"])]


def _unknown_operator(operator_id: str) -> ProblemError:
    return ProblemError(
        422,
        f"body.operator_id: unknown operator {operator_id!r}",
        kind="validation-error",
        errors=[FieldProblem(field="body.operator_id", message="unknown operator")],
    )


def country_of(lat_deg: float, lon_deg: float) -> str:
    """The ISO code of the country under a site ("" outside every country), as the offline tools place it."""
    import numpy as np

    from skyfence.network.ground import site_countries

    return str(site_countries(np.array([lat_deg]), np.array([lon_deg]))[0])


@router.get("/ground-sites", response_model=Page[GroundSitePublic])
def list_sites(
    session: ReadSession,
    _: Reader,
    limit: Limit = 100,
    after: After = 0,
    operator_id: Annotated[str | None, Query(max_length=32)] = None,
    country: CodeFilter = None,
) -> Page[GroundSitePublic]:
    """Gateways and PoPs, ordered by id, optionally of one operator or in one country."""
    rows = page_rows(session, GroundSite, after=after, limit=limit, operator_id=operator_id, country=country)
    items = [GroundSitePublic.model_validate(r) for r in rows]
    return Page.of(items, limit)


@router.post("/ground-sites", response_model=GroundSitePublic, status_code=201)
def create_site(body: GroundSiteCreate, db: DbDep, principal: OperatorCaller) -> GroundSitePublic:
    """Add a gateway or PoP (its country is looked up; outside every country: 422)."""
    country = country_of(body.lat_deg, body.lon_deg)
    if not country:
        raise ProblemError(
            422,
            f"body.lat_deg: ({body.lat_deg:g}, {body.lon_deg:g}) is outside every country (Natural Earth), so the "
            "site could meet no jurisdiction's condition; check the coordinates (latitude first)",
            kind="validation-error",
            errors=[
                FieldProblem(field="body.lat_deg", message="outside every country"),
                FieldProblem(field="body.lon_deg", message="outside every country"),
            ],
        )
    with db.write() as session:
        if session.get(Operator, body.operator_id) is None:
            raise _unknown_operator(body.operator_id)
        clash = session.scalar(
            select(GroundSite.id).where(GroundSite.operator_id == body.operator_id, GroundSite.name == body.name)
        )
        if clash is not None:
            raise ProblemError(409, f"{body.operator_id} already has a site named {body.name!r} ({clash})")
        row = GroundSite(**body.model_dump(exclude={"reason"}), country=country)
        add_audited(session, principal, row, kind="ground_site", reason=body.reason)
        registry.bump(session)
    return GroundSitePublic.model_validate(row)


@router.get("/ground-sites/{site_id}", response_model=GroundSitePublic)
def get_site(site_id: PathId, session: ReadSession, _: Reader) -> GroundSitePublic:
    """One ground site."""
    return GroundSitePublic.model_validate(get_or_404(session, GroundSite, site_id, "ground site"))


@router.patch("/ground-sites/{site_id}", response_model=GroundSitePublic)
def update_site(site_id: PathId, body: GroundSiteUpdate, db: DbDep, principal: OperatorCaller) -> GroundSitePublic:
    """Change a site's status (``operational``, ``planned``, ``offline``)."""
    with db.write() as session:
        row = get_or_404(session, GroundSite, site_id, "ground site")
        update_audited(session, principal, row, {"status": body.status}, kind="ground_site", reason=body.reason)
        registry.bump(session)
    return GroundSitePublic.model_validate(row)


@router.delete("/ground-sites/{site_id}", status_code=204, response_class=Response)
def delete_site(
    site_id: PathId,
    db: DbDep,
    principal: OperatorCaller,
    reason: Annotated[Reason, Query(description="Why the site is removed; recorded in the audit log.")],
) -> Response:
    """Remove a site (licences whose conditions needed it stop serving at the next batch)."""
    with db.write() as session:
        row = get_or_404(session, GroundSite, site_id, "ground site")
        delete_audited(session, principal, row, kind="ground_site", reason=reason)
        registry.bump(session)
    return Response(status_code=204)


@router.get("/operators/{operator_id}/ownership/{jurisdiction}", response_model=OwnershipPublic)
def get_ownership(
    operator_id: OperatorIdPath, jurisdiction: CodePath, session: ReadSession, principal: Reader
) -> OwnershipPublic:
    """An operator's declared ownership of its licensee in a jurisdiction (a regulator: of its own only)."""
    require_own_jurisdiction(principal, jurisdiction, "ownership records")
    row = session.scalar(
        select(Ownership).where(Ownership.operator_id == operator_id, Ownership.jurisdiction == jurisdiction)
    )
    if row is None:
        raise ProblemError(404, f"no ownership record of {operator_id!r} in {jurisdiction}", kind="not-found")
    return OwnershipPublic.model_validate(row)


@router.put("/operators/{operator_id}/ownership/{jurisdiction}", response_model=OwnershipPublic)
def put_ownership(
    operator_id: OperatorIdPath, jurisdiction: CodePath, body: OwnershipIn, db: DbDep, principal: LicenceManager
) -> OwnershipPublic:
    """Declare (or correct) the ownership record: local and foreign shares in per cent (0-100).

    The operator declares it until a licence there is granted with ownership bounds; from then on the regulator of
    the jurisdiction records changes (the operator gets 403)."""
    require_jurisdiction(principal, jurisdiction, what="ownership records")
    with db.write() as session:
        get_or_404(session, Operator, operator_id, "operator")
        _operator_may_declare(session, principal, operator_id, jurisdiction)
        row = session.scalar(
            select(Ownership).where(Ownership.operator_id == operator_id, Ownership.jurisdiction == jurisdiction)
        )
        values = body.model_dump(exclude={"reason"})
        if row is None:
            row = Ownership(operator_id=operator_id, jurisdiction=jurisdiction, **values)
            add_audited(session, principal, row, kind="ownership", reason=body.reason)
        else:
            update_audited(session, principal, row, values, kind="ownership", reason=body.reason)
            row.updated_at = row.updated_at or utcnow()
        registry.bump(session)
    return OwnershipPublic.model_validate(row)


def _operator_may_declare(session, principal: Principal, operator_id: str, jurisdiction: str) -> None:
    """403 when an operator would change the ownership record a granted (or suspended) licence was decided on."""
    if principal.role != "operator":
        return
    bound = session.scalar(
        select(Licence.id).where(
            Licence.operator_id == operator_id,
            Licence.jurisdiction == jurisdiction,
            Licence.state.in_(("granted", "suspended")),
            Licence.local_ownership_min_pct.is_not(None) | Licence.foreign_ownership_max_pct.is_not(None),
        )
    )
    if bound is not None:
        raise ProblemError(
            403,
            f"licence {bound} of {operator_id} in {jurisdiction} was decided with ownership conditions, so its "
            f"ownership record is the regulator's now: ask the regulator of {jurisdiction} to record the change "
            "(an operator declares ownership only before such a licence is granted)",
        )
