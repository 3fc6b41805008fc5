"""The registry: licences with their conditions, ownership records, ground sites and whitelist enrolments, as the
policy engine reads them when a policy says ``licences_from = "registry"`` or ``whitelists_from = "registry"``.

**Conditions** of a licence (all must hold for a ``granted`` licence to be in force):

``local_gateway``             an *operational* gateway of the operator inside the jurisdiction (ground sites are
                              placed in countries with Natural Earth when they are stored);
``local_ownership_min_pct``   the operator's declared ownership record there has ``local_pct`` at least this;
``foreign_ownership_max_pct`` ... and ``foreign_pct`` at most this;
``lawful_intercept``          an operational PoP of the operator inside the jurisdiction (traffic can be
                              intercepted under local law only where it meets the Internet there);
``expires_on``                in force through that day (UTC), not after.

A licence that is not in force serves nobody: the decision names why (``licence applied, not granted``,
``condition unmet: no operational gateway in TW``, ``licence expired on 2027-01-01``).

**Freshness.**  Every write to licences, ownership records or ground sites bumps the single
``registry_version`` row in the same transaction (:func:`bump`).  Each telemetry batch reads that row (one
primary-key read) and reloads the snapshot when it changed, so a change is effective for the next ingested batch
in every worker -- never stale at all, let alone beyond a second.  Enrolments are read per batch, for the batch's
terminals only (one indexed query), so enrolling or revoking never invalidates anything.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from skyfence.service.core.db import driver_rows
from skyfence.service.models import GroundSite, Licence, Ownership, RegistryVersion

__all__ = [
    "CONDITION_KEYS",
    "LicenceStatus",
    "RegistryView",
    "bump",
    "enrolments_of",
    "licence_status",
    "rows_by_ids",
    "snapshot",
]

#: The structured conditions a regulator may attach (API names).
CONDITION_KEYS: Final = (
    "local_gateway_required",
    "local_ownership_min_pct",
    "foreign_ownership_max_pct",
    "lawful_intercept",
    "expires",
)


def bump(session: Session) -> None:
    """Mark the registry changed (call in the transaction that changes licences, ownership or ground sites)."""
    session.execute(update(RegistryVersion).where(RegistryVersion.id == 1).values(version=RegistryVersion.version + 1))


def current_version(session: Session) -> int:
    return int(session.scalar(select(RegistryVersion.version).where(RegistryVersion.id == 1)) or 0)


@dataclass(frozen=True)
class LicenceStatus:
    """A licence as the decisions see it: its state, and the conditions it does not meet (besides expiry)."""

    id: int
    operator_id: str
    jurisdiction: str
    state: str
    conditions: dict[str, Any]
    unmet: tuple[str, ...]
    met: tuple[str, ...]
    expires_on: date | None

    def why_not(self, at: datetime) -> str | None:
        """Why the licence does not serve at ``at`` (``None``: it is in force)."""
        if self.state != "granted":
            return f"licence {self.state}, not granted"
        if self.unmet:
            return "condition unmet: " + "; ".join(self.unmet)
        if self.expires_on is not None and at >= datetime.combine(self.expires_on, time(0), UTC) + timedelta(days=1):
            return f"licence expired on {self.expires_on.isoformat()}"
        return None

    def describe(self) -> str:
        """``licence 12 (TW, granted; conditions met: ...)``."""
        met = f"; conditions met: {', '.join(self.met)}" if self.met else ""
        until = f"; expires {self.expires_on.isoformat()}" if self.expires_on is not None else ""
        return f"licence {self.id} ({self.jurisdiction}, {self.state}{met}{until})"


def conditions_of(row: Licence) -> dict[str, Any]:
    """The structured conditions of a licence row (only those set)."""
    out: dict[str, Any] = {}
    if row.local_gateway:
        out["local_gateway_required"] = True
    if row.local_ownership_min_pct is not None:
        out["local_ownership_min_pct"] = row.local_ownership_min_pct
    if row.foreign_ownership_max_pct is not None:
        out["foreign_ownership_max_pct"] = row.foreign_ownership_max_pct
    if row.lawful_intercept:
        out["lawful_intercept"] = True
    if row.expires_on is not None:
        out["expires"] = row.expires_on
    return out


def licence_status(row: Licence, sites: list[GroundSite], ownership: Ownership | None) -> LicenceStatus:
    """Evaluate a licence's conditions against the operator's ground sites and ownership record there."""
    cc = row.jurisdiction
    unmet: list[str] = []
    met: list[str] = []
    here = [s for s in sites if s.country == cc and s.status == "operational"]
    if row.local_gateway:
        gateways = sorted(s.name for s in here if s.kind == "gateway")
        if gateways:
            met.append(f"operational gateway in {cc} ({', '.join(gateways)})")
        else:
            unmet.append(f"no operational gateway in {cc}")
    if row.lawful_intercept:
        pops = sorted(s.name for s in here if s.kind == "pop")
        if pops:
            met.append(f"lawful intercept at a PoP in {cc} ({', '.join(pops)})")
        else:
            unmet.append(f"no operational PoP in {cc} (lawful intercept)")
    for key, bound, attribute, sign in (
        ("local ownership", row.local_ownership_min_pct, "local_pct", ">="),
        ("foreign ownership", row.foreign_ownership_max_pct, "foreign_pct", "<="),
    ):
        if bound is None:
            continue
        if ownership is None:
            unmet.append(f"no ownership record of {row.operator_id} in {cc} ({key} {sign} {bound:g}%)")
            continue
        value = float(getattr(ownership, attribute))
        ok = value >= bound if sign == ">=" else value <= bound
        if ok:
            met.append(f"{key} {value:g}% {sign} {bound:g}%")
        else:
            unmet.append(f"{key} {value:g}% is not {sign} {bound:g}% in {cc}")
    return LicenceStatus(
        id=row.id,
        operator_id=row.operator_id,
        jurisdiction=cc,
        state=row.state,
        conditions=conditions_of(row),
        unmet=tuple(unmet),
        met=tuple(met),
        expires_on=row.expires_on,
    )


@dataclass(frozen=True)
class Snapshot:
    """Every licence's status, keyed ``(operator_id, jurisdiction)``, at one registry version."""

    version: int
    licences: dict[tuple[str, str], LicenceStatus]

    def of_operator(self, operator_id: str) -> dict[str, LicenceStatus]:
        return {cc: s for (op, cc), s in self.licences.items() if op == operator_id}


def _load(session: Session, version: int) -> Snapshot:
    sites: dict[str, list[GroundSite]] = defaultdict(list)
    for site in session.scalars(select(GroundSite)):
        sites[site.operator_id].append(site)
    owners = {(o.operator_id, o.jurisdiction): o for o in session.scalars(select(Ownership))}
    licences = {}
    for row in session.scalars(select(Licence)):
        key = (row.operator_id, row.jurisdiction)
        licences[key] = licence_status(row, sites[row.operator_id], owners.get(key))
    return Snapshot(version, licences)


#: The last snapshot per database (one in a server; tests open many databases in one process).
_cached: dict[tuple[str, int], Snapshot] = {}
_cache_lock = threading.Lock()


def snapshot(session: Session) -> Snapshot:
    """The registry at its current version: one primary-key read, and a reload only when something changed."""
    bind = session.get_bind()
    database = (bind.engine.url.render_as_string(hide_password=True), id(bind.engine))
    version = current_version(session)
    found = _cached.get(database)
    if found is not None and found.version == version:
        return found
    with _cache_lock:
        found = _cached.get(database)
        if found is not None and found.version == version:
            return found
        loaded = _load(session, version)
        if len(_cached) >= 16:  # databases opened and closed in one process (tests): keep the map small
            _cached.clear()
        _cached[database] = loaded
        return loaded


def rows_by_ids(connection: Connection, sql: str, ids: list[int], *params: Any) -> list[tuple]:
    """Rows of ``sql`` run straight through the driver, as plain tuples, where ``{ids}`` stands for "is one of
    ``ids``" with ONE bound parameter (the raw-SQL form of :func:`~skyfence.service.core.db.id_in`) and the other
    placeholders (``?``) take ``params`` in order.

    A batch reads thousands of rows by id; SQLAlchemy's statement compilation and result rows cost more CPU than
    the query (2.5x on a batch's terminals), and every caller here reads plain columns.
    """
    if connection.dialect.name == "postgresql":
        return driver_rows(connection, sql.replace("{ids}", "= ANY(?::bigint[])"), [int(i) for i in ids], *params)
    listed = json.dumps([int(i) for i in ids])
    return driver_rows(connection, sql.replace("{ids}", "IN (SELECT value FROM json_each(?))"), listed, *params)


def enrolments_of(session: Session, terminal_ids: list[int], codes: tuple[str, ...]) -> dict[int, dict[str, int]]:
    """Active enrolments of these terminals in these jurisdictions: terminal id → {code: enrolment id}.

    One seek per terminal and code in ``ix_enrolments_terminal_active``, which holds every column asked for
    (migration 0009): SQLite answers from the index alone (``USING COVERING INDEX``).  PostgreSQL is asked for the
    same seeks explicitly, one per terminal (``OFFSET 0`` keeps the planner from flattening them into one pass
    over every enrolment, which it picks for a long ``= ANY`` list as soon as the table has statistics)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    if not terminal_ids or not codes:
        return out
    listed = ", ".join("?" * len(codes))
    connection = session.connection()
    where = f"jurisdiction IN ({listed}) AND revoked_at IS NULL"
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT t.id, e.jurisdiction, e.id FROM unnest(?::bigint[]) AS t(id) CROSS JOIN LATERAL ("
            f"SELECT jurisdiction, id FROM enrolments WHERE terminal_id = t.id AND {where} OFFSET 0) AS e"
        )
        rows = driver_rows(connection, sql, [int(i) for i in terminal_ids], *codes)
    else:
        sql = f"SELECT terminal_id, jurisdiction, id FROM enrolments WHERE terminal_id {{ids}} AND {where}"
        rows = rows_by_ids(connection, sql, terminal_ids, *codes)
    for terminal_id, code, enrolment_id in rows:
        out[terminal_id][code] = enrolment_id
    return out


@dataclass
class RegistryView:
    """What one batch's decisions read from the registry: the operator's licences by country, and enrolments of
    the batch's terminals (serial → {code: enrolment id})."""

    licences: dict[str, LicenceStatus] = field(default_factory=dict)
    enrolled: dict[str, dict[str, int]] = field(default_factory=dict)
