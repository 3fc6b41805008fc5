"""The decision engine: terminal fixes → ``allow`` / ``deny`` / ``degrade``, the deciding rule and a reason.

**Precedence** (deterministic, and the same in the vectorised kernel and in :meth:`Engine.explain`):

1. rules are tried from the highest ``priority`` to the lowest;
2. at equal priority the stricter action first: ``deny`` > ``degrade`` > ``allow``;
3. then in file order.

The first rule whose conditions all hold decides.  A fix no rule covers gets the policy's ``default``, which every
policy file must state -- nothing is ever allowed silently.  Two rules with the same priority and different actions
whose scopes can overlap (zones sharing interior points, overlapping plans, periods, operators, registration
countries, whitelist requirements and end uses) are rejected when the file is loaded, so step 2 only ever decides
on the shared edge of two zones, where the stricter action wins: a point on a denied polygon's edge is denied.

**Rules → clauses.**  Each rule expands into one or more conjunctive *clauses*: a motion rule into a speed clause
and an altitude clause; an export-control rule into a destination clause and an end-use clause; a status rule into
one clause per (status, expected date) with the countries holding it; a licence rule into one clause per licence
and period in a matching state (a granted licence only where it is in force: its conditions met by the operator in
that country and not expired).  A fix matches a rule when it matches any of its clauses.

**Conditions of a clause**, all of which must hold: inside its zone (``shapely.intersects_xy`` semantics: edges
are inside; ``side = "outside"`` geofences invert it), plan, time in ``[valid_from, valid_until)`` (a date as
``valid_until`` or ``expires`` is inclusive), whitelisted flag, speed above / altitude above the limit, days abroad
above the limit (and outside the registration country), registration country, end use.

**Fixes** are columns: ``lat``, ``lon`` [deg] (required), ``alt_m`` [m], ``speed_kmh`` [km/h], ``time`` (UTC),
``terminal``, ``registered_in`` (ISO alpha-2), ``plan``, ``whitelisted``, ``end_use``, ``days_abroad``.  Missing
columns take documented defaults, listed in :attr:`Decisions.assumptions`: a fixed terminal (0 km/h, 0 m) on the
``residential`` plan, not whitelisted, registration and end use unknown, at the policy's ``as_of`` (else now), and
days abroad derived from ``terminal`` + ``time`` when both are given (else 0).  NaN or out-of-range coordinates,
speeds or altitudes, unknown plans and missing times are a :class:`~skyfence.errors.PolicyError` naming the row.

**Speed.**  Locations come from the tile index of :mod:`skyfence.policy.index` (exact point-in-polygon only in
tiles that straddle a border); the rules run in one numba loop over fixes x clauses.  Reasons are a code table
(one text per clause), so 10 million decisions carry their reasons at no cost; :meth:`Decisions.reason` adds the
fix's own values for one fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numba
import numpy as np
import pandas as pd
import shapely

from skyfence.errors import PolicyError
from skyfence.policy import model as m
from skyfence.policy.index import BOUNDARY, TileIndex, build_index
from skyfence.policy.zones import Geography, ZoneGeometry

__all__ = ["DECISIONS", "Clause", "Decisions", "Engine", "Explanation", "RuleTrace", "compile_policy"]

#: Decision labels in code order (``Decisions.decision`` holds these codes).
DECISIONS = m.ACTIONS
_ACTION_CODE = {a: i for i, a in enumerate(m.ACTIONS)}
_T_MIN = np.iinfo(np.int64).min
_T_MAX = np.iinfo(np.int64).max
#: Below this many fixes the engine skips the tile index and asks an STR-tree directly (same answers).
_EXACT_BELOW = 20_000
_MAX_ALT_M = 1_000_000.0
_MIN_ALT_M = -12_000.0
_MAX_SPEED_KMH = 100_000.0


def _ns(moment) -> int:
    return int(np.datetime64(m.as_utc(moment).replace(tzinfo=None), "ns").astype(np.int64))


def _until_ns(moment) -> int:
    return int(np.datetime64(m.until_utc(moment).replace(tzinfo=None), "ns").astype(np.int64))


def _fmt_ns(value: int) -> str:
    return str(np.datetime64(int(value), "ns").astype("datetime64[s]")) + "Z"


# --------------------------------------------------------------------------- clauses


@dataclass(frozen=True)
class Clause:
    """One conjunctive condition set of a rule (see the module notes)."""

    rule: int
    kind: str
    action: str
    priority: int
    text: str
    operators: frozenset[str] | None = None
    zone: int = -1
    negate: bool = False
    zone_b: int = -1
    plans: frozenset[str] | None = None
    t_from: int = _T_MIN
    t_until: int = _T_MAX
    whitelisted: int = -1  # -1 any, 0 must not be whitelisted (whitelist rules), 1 must be
    listed: int = -1  # index of a whitelist's terminal list
    speed_gt: float = -math.inf
    alt_gt: float = -math.inf
    days_gt: float = -math.inf
    abroad: bool = False
    registered_in: frozenset[str] | None = None
    end_uses: frozenset[str] | None = None
    detail: str = ""
    what: str = ""


@dataclass(eq=False)
class Compiled:
    """A policy's geography, its clauses in precedence order and its whitelist terminal lists."""

    geography: Geography
    clauses: list[Clause]
    order: list[int]
    terminal_lists: list[frozenset[str]] = field(default_factory=list)
    unmapped_status_codes: tuple[str, ...] = ()
    tile_indexes: dict[float, TileIndex] = field(default_factory=dict)


def precedence(rules) -> list[int]:
    """Rule indices in the order they are tried (see the module notes)."""
    return sorted(range(len(rules)), key=lambda i: (-rules[i].priority, -m.SEVERITY[rules[i].action], i))


def compile_policy(policy) -> Compiled:
    """Resolve zones, expand rules into clauses and reject equal-priority conflicts (used by ``load_policy``)."""
    spec = policy.spec
    geo = Geography(spec.policy.pov, spec.policy.scale)
    for name, zone in spec.zones.items():
        try:
            geo.resolve_zone(name, zone, policy.zone_dirs[name], field_path=f"zones.{name}")
        except PolicyError as error:
            raise PolicyError(error.message, source=error.source or policy.zone_files.get(name),
                              field=error.field, hint=error.hint) from None
    compiled = Compiled(geo, [], precedence(spec.rules))
    unmapped = sorted(code for code in policy.statuses if code not in geo.code_rows)
    compiled.unmapped_status_codes = tuple(unmapped)
    for index in compiled.order:
        compiled.clauses.extend(_expand(policy, compiled, index))
    _check_conflicts(policy, compiled)
    return compiled


def _zone_of(geo: Geography, names: list[str], label: str) -> ZoneGeometry:
    del label  # a union is named after its members ("+" cannot occur in a zone name)
    return geo.union_zone(" + ".join(names), [geo.zones[n] for n in names])


def _describe_zone(geo: Geography, zone: ZoneGeometry) -> str:
    if " + " in zone.name:
        return "zones " + zone.name.replace(" + ", ", ")
    return f"zone {zone.name!r}" + (f" ({zone.description})" if zone.description else "")


def _filters(rule, clause_plans) -> str:
    bits = []
    if clause_plans is not None:
        bits.append("plan " + "/".join(sorted(clause_plans)))
    if rule.registered_in is not None:
        bits.append("registered in " + "/".join(rule.registered_in))
    if rule.whitelisted is not None:
        bits.append("whitelisted" if rule.whitelisted else "not whitelisted")
    if rule.valid_from is not None or rule.valid_until is not None:
        start = rule.valid_from.isoformat() if rule.valid_from is not None else "…"
        end = rule.valid_until.isoformat() if rule.valid_until is not None else "…"
        bits.append(f"valid {start} to {end}")
    return (" [" + "; ".join(bits) + "]") if bits else ""


def _expand(policy, compiled: Compiled, index: int) -> list[Clause]:
    spec = policy.spec
    geo = compiled.geography
    rule = spec.rules[index]
    rid = rule.id or f"rules[{index}]"
    plans = frozenset(rule.plans) if rule.plans is not None else None
    base = {
        "rule": index,
        "kind": rule.kind,
        "action": rule.action,
        "priority": rule.priority,
        "operators": frozenset(rule.operators) if rule.operators else None,
        "plans": plans,
        "t_from": _ns(rule.valid_from) if rule.valid_from is not None else _T_MIN,
        "t_until": _until_ns(rule.valid_until) if rule.valid_until is not None else _T_MAX,
        "whitelisted": -1 if rule.whitelisted is None else int(rule.whitelisted),
        "registered_in": frozenset(rule.registered_in) if rule.registered_in is not None else None,
    }
    head = f"{rule.action} by rule '{rid}' ({rule.kind}, priority {rule.priority}): "
    tail = _filters(rule, plans) + (f" — {rule.reason}" if rule.reason else "")

    def clause(what: str, **kw) -> Clause:
        args = {**base, **kw}
        return Clause(text=head + what + tail, what=what + _filters(rule, args["plans"]), **args)

    kind = rule.kind
    names = rule.zone_names() if hasattr(rule, "zone_names") else []
    zone = _zone_of(geo, names, f"rule:{rid}") if names else None
    zone_index = geo.register(zone) if zone is not None else -1
    if kind == "jurisdiction":
        assert zone is not None
        return [clause("inside " + _describe_zone(geo, zone), zone=zone_index)]
    if kind == "geofence":
        assert zone is not None
        fence = geo.buffered(zone, rule.buffer_km, name=f"{zone.name}+{rule.buffer_km:g}km",
                             field_path=f"rules[{index}].buffer_km")
        fence_index = geo.register(fence)
        side = "inside" if rule.side == "inside" else "outside"
        extra = f" grown by {rule.buffer_km:g} km" if rule.buffer_km else ""
        return [clause(f"{side} geofence {zone.name!r}{extra}", zone=fence_index, negate=rule.side == "outside")]
    if kind == "whitelist":
        assert zone is not None
        listed = -1
        if rule.terminals:
            compiled.terminal_lists.append(frozenset(rule.terminals))
            listed = len(compiled.terminal_lists) - 1
        return [clause(f"terminal not whitelisted in {_describe_zone(geo, zone)}", zone=zone_index, whitelisted=0,
                       listed=listed)]
    if kind == "motion":
        where = f" in {_describe_zone(geo, zone)}" if zone is not None else ""
        out = []
        if rule.max_speed_kmh is not None:
            out.append(clause(f"moving faster than {rule.max_speed_kmh:g} km/h{where}", zone=zone_index,
                              speed_gt=float(rule.max_speed_kmh), detail="speed"))
        if rule.max_altitude_m is not None:
            out.append(clause(f"higher than {rule.max_altitude_m:g} m{where}", zone=zone_index,
                              alt_gt=float(rule.max_altitude_m), detail="altitude"))
        return out
    if kind == "roaming":
        where = f" in {_describe_zone(geo, zone)}" if zone is not None else ""
        return [clause(f"more than {rule.max_days_abroad} days outside the registration country{where}",
                       zone=zone_index, days_gt=float(rule.max_days_abroad), abroad=True, detail="days")]
    if kind == "export_control":
        out = []
        if rule.destinations:
            dest = _zone_of(geo, list(rule.destinations), f"rule:{rid}:destinations")
            out.append(clause(f"export-controlled destination {_describe_zone(geo, dest)}", zone=geo.register(dest)))
        if rule.end_uses:
            out.append(clause("denied end use (" + ", ".join(rule.end_uses) + ")", end_uses=frozenset(rule.end_uses),
                              detail="end_use"))
        return out
    if kind == "status":
        return _status_clauses(policy, geo, rule, clause, zone_index)
    if kind == "licence":
        return _licence_clauses(policy, geo, rule, index, clause, base)
    raise AssertionError(kind)  # pragma: no cover


def _status_clauses(policy, geo, rule, clause, filter_index) -> list[Clause]:
    out = []
    operator = policy.operator
    for status in rule.statuses:
        groups: dict[str | None, list[str]] = {}
        for code, entry in sorted(policy.statuses.items()):
            if entry.status == status and code in geo.code_rows:
                groups.setdefault(entry.expected, []).append(code)
        for expected, codes in groups.items():
            parts = frozenset(p for c in codes for p in geo.code_rows[c])
            label = f"status:{operator}:{status}:{expected}"
            zone = ZoneGeometry(label, parts, countries=tuple(codes),
                                description=f"{len(codes)} countries with status {status}")
            index = geo.register(zone)
            when = f" (expected: {expected})" if expected else ""
            out.append(clause(f"country's status on the {operator} map is {status}{when}", zone=index,
                              zone_b=filter_index, operators=frozenset({operator}), detail="status"))
    return out


def licence_periods(licence: m.Licence) -> list[tuple[int, int, str]]:
    """``(start_ns, end_ns, state)`` periods of a licence; ``granted`` ends at its expiry (then ``none``)."""
    events: list[tuple[int, str]] = []
    if licence.history:
        events = [(_ns(e.on), e.state) for e in licence.history]
    elif licence.since is not None:
        events = [(_ns(licence.since), licence.state)]
    else:
        events = [(_T_MIN, licence.state)]
    periods = []
    if events[0][0] > _T_MIN:
        periods.append((_T_MIN, events[0][0], "none"))
    for k, (start, state) in enumerate(events):
        end = events[k + 1][0] if k + 1 < len(events) else _T_MAX
        expires = licence.conditions.expires
        if state == "granted" and expires is not None:
            cut = _until_ns(expires)
            if cut <= start:
                periods.append((start, end, "none"))
                continue
            if cut < end:
                periods.append((start, cut, "granted"))
                periods.append((cut, end, "none"))
                continue
        periods.append((start, end, state))
    return [p for p in periods if p[0] < p[1]]


def _conditions_met(policy, licence: m.Licence, operator: str, code: str) -> list[str]:
    """Conditions of ``licence`` the operator does not meet in country ``code``."""
    capability = policy.spec.operators.get(operator) or m.Operator()
    missing = []
    checks = (
        ("local_gateway", capability.gateways_in),
        ("local_ownership", capability.local_ownership_in),
        ("lawful_intercept", capability.lawful_intercept_in),
    )
    for condition, where in checks:
        if getattr(licence.conditions, condition) and code not in where and "*" not in where:
            missing.append(condition)
    return missing


def _licence_clauses(policy, geo: Geography, rule, index, clause, base) -> list[Clause]:
    out = []
    rule_plans = base["plans"]
    for number, licence in enumerate(policy.spec.licences):
        operator = licence.operator or policy.operator
        where = f"licences[{number}]"
        if licence.zone is not None:
            zone = geo.zones[licence.zone]
        else:
            parts, codes = geo.country_parts(licence.countries, field_path=f"{where}.countries")
            zone = ZoneGeometry(f"licence:{number}", parts, countries=codes, description="/".join(codes))
            geo.register(zone)
        conditional = any(getattr(licence.conditions, c) for c in m.CONDITIONS)
        if conditional and (not zone.countries or zone.world or zone.sea or
                            len(zone.parts) != len({p for c in zone.countries for p in geo.code_rows[c]})):
            raise PolicyError(
                "licence conditions are checked per country, so the jurisdiction must be made of ISO codes only",
                field=f"{where}.conditions",
                hint="use countries = [...] or a zone with only countries",
            )
        plans = rule_plans
        if licence.plans is not None:
            plans = frozenset(licence.plans) if plans is None else plans & frozenset(licence.plans)
            if not plans:
                continue
        label = licence.authority or "/".join(zone.countries) or zone.name
        for start, end, state in licence_periods(licence):
            if state not in rule.states:
                continue
            t_from = max(start, base["t_from"])
            t_until = min(end, base["t_until"])
            if t_from >= t_until:
                continue
            target = zone
            note = ""
            if state == "granted" and conditional:
                in_force = [c for c in zone.countries if not _conditions_met(policy, licence, operator, c)]
                if not in_force:
                    continue
                if len(in_force) < len(zone.countries):
                    parts = frozenset(p for c in in_force for p in geo.code_rows[c])
                    target = ZoneGeometry(f"licence:{number}:in-force", parts, countries=tuple(in_force),
                                          description="/".join(in_force))
                note = ", conditions met (" + ", ".join(c for c in m.CONDITIONS if getattr(licence.conditions, c)) + ")"
            expiry = licence.conditions.expires
            span = f", expires {expiry.isoformat()}" if expiry is not None and state == "granted" else ""
            text = (f"{operator} holds a licence in state {state} for {'/'.join(target.countries) or target.name}"
                    f" ({label}){note}{span}")
            out.append(clause(text, zone=geo.register(target), operators=frozenset({operator}), plans=plans,
                              t_from=t_from, t_until=t_until, detail=f"licence:{number}"))
    return out


# --------------------------------------------------------------------------- conflicts


def _intersects(a, b) -> bool:
    return a is None or b is None or bool(a & b)


def _may_overlap(geo: Geography, a: Clause, b: Clause) -> bool:
    if not (_intersects(a.operators, b.operators) and _intersects(a.plans, b.plans)):
        return False
    if max(a.t_from, b.t_from) >= min(a.t_until, b.t_until):
        return False
    if {a.whitelisted, b.whitelisted} == {0, 1}:
        return False
    if not (_intersects(a.registered_in, b.registered_in) and _intersects(a.end_uses, b.end_uses)):
        return False
    za = geo.zone_list[a.zone] if a.zone >= 0 else None
    zb = geo.zone_list[b.zone] if b.zone >= 0 else None
    if not geo.zones_may_overlap(za, zb, a.negate, b.negate):
        return False
    for x, y in ((a.zone_b, b.zone), (a.zone, b.zone_b), (a.zone_b, b.zone_b)):
        if x >= 0 and y >= 0:
            neg_x = a.negate if x == a.zone else False
            neg_y = b.negate if y == b.zone else False
            if not geo.zones_may_overlap(geo.zone_list[x], geo.zone_list[y], neg_x, neg_y):
                return False
    return True


def _check_conflicts(policy, compiled: Compiled) -> None:
    rules = policy.spec.rules
    clauses = compiled.clauses
    by_priority: dict[int, list[Clause]] = {}
    for c in clauses:
        by_priority.setdefault(c.priority, []).append(c)
    for priority, group in by_priority.items():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a.rule == b.rule or a.action == b.action:
                    continue
                if _may_overlap(compiled.geography, a, b):
                    first, second = sorted((a.rule, b.rule))
                    raise PolicyError(
                        f"rules[{first}] ({policy.rule_id(first)!r}, {rules[first].action}) and rules[{second}] "
                        f"({policy.rule_id(second)!r}, {rules[second].action}) have the same priority {priority} "
                        "and can match the same fix",
                        field=f"rules[{second}].priority",
                        hint="give the rule that should win a higher priority",
                    )


# --------------------------------------------------------------------------- the kernel


@numba.njit(cache=True)
def _decide(zone_bits, plan, t, wl, listed, speed, alt, days, country, reg, end_use,
            c_zone, c_neg, c_zone_b, c_plan, c_tfrom, c_tuntil, c_wl, c_listed, c_speed, c_alt, c_days, c_abroad,
            c_reg_any, c_reg_table, c_end_any, c_end_table):  # pragma: no cover - numba
    n = plan.shape[0]
    n_clauses = c_zone.shape[0]
    out = np.full(n, -1, dtype=np.int32)
    one = np.uint64(1)
    for i in range(n):
        for c in range(n_clauses):
            z = c_zone[c]
            if z >= 0:
                inside = (zone_bits[i, z >> 6] >> np.uint64(z & 63)) & one
                if (inside == one) == c_neg[c]:
                    continue
            zb = c_zone_b[c]
            if zb >= 0:
                if ((zone_bits[i, zb >> 6] >> np.uint64(zb & 63)) & one) == 0:
                    continue
            if ((c_plan[c] >> np.uint64(plan[i])) & one) == 0:
                continue
            if t[i] < c_tfrom[c] or t[i] >= c_tuntil[c]:
                continue
            w = c_wl[c]
            if w == 0:
                if wl[i]:
                    continue
                k = c_listed[c]
                if k >= 0 and ((listed[i] >> np.uint64(k)) & one) == one:
                    continue
            elif w == 1 and not wl[i]:
                continue
            if not speed[i] > c_speed[c]:
                continue
            if not alt[i] > c_alt[c]:
                continue
            if c_days[c] > -np.inf and not days[i] > c_days[c]:
                continue
            if c_abroad[c] and (country[i] < 0 or reg[i] < 0 or country[i] == reg[i]):
                continue
            if not c_reg_any[c] and (reg[i] < 0 or not c_reg_table[c, reg[i]]):
                continue
            if not c_end_any[c] and (end_use[i] < 0 or not c_end_table[c, end_use[i]]):
                continue
            out[i] = c
            break
    return out


def _ready(array: np.ndarray) -> np.ndarray:
    """A C-contiguous, writeable array (one numba signature for every caller; read-only views would add more)."""
    if array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, order="C")


# --------------------------------------------------------------------------- fixes


_ALIASES = {
    "lat": ("lat", "lat_deg", "latitude"),
    "lon": ("lon", "lon_deg", "lng", "longitude"),
    "alt_m": ("alt_m", "altitude_m", "alt"),
    "speed_kmh": ("speed_kmh", "speed"),
    "time": ("time", "timestamp", "t"),
    "terminal": ("terminal", "terminal_id"),
    "registered_in": ("registered_in", "registration", "registration_country"),
    "plan": ("plan",),
    "whitelisted": ("whitelisted", "registered"),
    "end_use": ("end_use",),
    "days_abroad": ("days_abroad",),
}


def _columns(fixes, columns: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if fixes is not None:
        if not isinstance(fixes, pd.DataFrame | dict):
            fixes = pd.DataFrame(fixes)
        lowered = {str(c).lower(): c for c in (fixes.columns if isinstance(fixes, pd.DataFrame) else fixes)}
        for key, names in _ALIASES.items():
            for name in names:
                if name in lowered:
                    found[key] = fixes[lowered[name]]
                    break
    for key, value in columns.items():
        if key not in _ALIASES:
            raise PolicyError(f"unknown fix column {key!r}", field=key, hint="columns: " + ", ".join(_ALIASES))
        if value is not None:
            found[key] = value
    return found


def _row_error(message: str, row: int, field: str, source: str | None, hint: str | None = None) -> PolicyError:
    return PolicyError(f"row {row}: {message}", source=source, field=field, hint=hint)


def _floats(value, n: int, field: str, source, lo: float, hi: float, unit: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PolicyError(f"{field} must be numbers", source=source, field=field) from None
    array = array if array.shape == (n,) else np.broadcast_to(array, (n,)).copy()
    bad = ~(np.isfinite(array) & (array >= lo) & (array <= hi))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = array[row]
        what = "NaN" if np.isnan(value) else f"{value:g} {unit}"
        raise _row_error(f"{field} is {what}, outside [{lo:g}, {hi:g}]", row, field, source,
                         hint=f"{int(bad.sum())} bad row(s) in all")
    return array


def _codes(value, n: int) -> tuple[np.ndarray, list[str]]:
    """Strings → (int32 codes, categories); None/NaN/'' → category ''.  Categoricals keep their codes (fast)."""
    if isinstance(value, str) or value is None or np.ndim(value) == 0:
        return np.zeros(n, dtype=np.int32), ["" if value is None else str(value)]
    if isinstance(value, pd.Series) and isinstance(value.dtype, pd.CategoricalDtype):
        value = value.array
    if isinstance(value, pd.Categorical):
        categories = ["" if pd.isna(c) else str(c) for c in value.categories]
        codes = np.asarray(value.codes, dtype=np.int32)
    else:
        codes, uniques = pd.factorize(np.asarray(value, dtype=object) if not isinstance(value, pd.Series)
                                      else value, use_na_sentinel=True)
        categories = ["" if pd.isna(u) else str(u) for u in uniques]
        codes = np.asarray(codes, dtype=np.int32)
    if (codes < 0).any():
        categories.append("")
        codes = np.where(codes < 0, len(categories) - 1, codes).astype(np.int32)
    if len(codes) != n:
        raise PolicyError(f"a column has {len(codes)} values, expected {n}")
    return codes, categories


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _booleans(value, n: int, source) -> np.ndarray:
    if isinstance(value, bool | np.bool_) or np.ndim(value) == 0:
        return np.full(n, bool(value))
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf":
        ok = np.isin(array, (0, 1))
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise _row_error(f"whitelisted is {array[row]!r}; use true/false or 1/0", row, "whitelisted", source)
        return array.astype(bool)
    codes, categories = _codes(value, n)
    table = np.zeros(len(categories), dtype=bool)
    for k, text in enumerate(categories):
        low = text.strip().lower()
        if low in _TRUE:
            table[k] = True
        elif low not in _FALSE:
            row = int(np.flatnonzero(codes == k)[0])
            raise _row_error(f"whitelisted is {text!r}; use true/false or 1/0", row, "whitelisted", source)
    return table[codes]


def _times(value, n: int, source) -> np.ndarray:
    """UTC times → int64 ns; naive times are UTC; a missing time is an error naming the row."""
    if isinstance(value, datetime | np.datetime64 | str | pd.Timestamp):
        value = [value] * n
    if isinstance(value, np.ndarray) and value.dtype.kind == "M":
        values = value.astype("datetime64[ns]")
    else:
        series = value if isinstance(value, pd.Series) else pd.Series(value)
        try:
            if series.dtype.kind == "M" and not isinstance(series.dtype, pd.DatetimeTZDtype):
                converted = series
            elif isinstance(series.dtype, pd.DatetimeTZDtype):
                converted = series.dt.tz_convert("UTC").dt.tz_localize(None)
            else:
                converted = pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)
        except (ValueError, TypeError) as error:
            raise PolicyError(f"time: {error}", source=source, field="time",
                              hint="use ISO 8601 UTC times, e.g. 2026-08-22T12:00:00Z") from None
        values = converted.to_numpy(dtype="datetime64[ns]")
    if len(values) != n:
        raise PolicyError(f"time has {len(values)} values, expected {n}", source=source, field="time")
    missing = np.isnat(values)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise _row_error("time is missing", row, "time", source, hint="give every fix a UTC time")
    return np.ascontiguousarray(values.view(np.int64))


@dataclass(eq=False)
class Fixes:
    """Validated fix columns as arrays (see the module notes)."""

    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray
    speed_kmh: np.ndarray
    time_ns: np.ndarray
    plan: np.ndarray  # uint8 code into Engine.plans
    whitelisted: np.ndarray
    registered_in: np.ndarray  # int16 code into Engine.codes (-1 unknown)
    end_use: np.ndarray  # int16 code into end_uses (-1 none)
    end_uses: list[str]
    terminal: tuple[np.ndarray, list[str]] | None
    days_abroad: np.ndarray | None
    assumptions: list[str]

    def __len__(self) -> int:
        return len(self.lat)


# --------------------------------------------------------------------------- results


@dataclass(eq=False)
class Decisions:
    """Decisions for a batch of fixes.

    Attributes
    ----------
    decision
        ``uint8`` codes into :data:`DECISIONS` (``allow``, ``deny``, ``degrade``).
    rule
        ``int32`` index of the deciding rule in the policy file (``rules[i]``), -1 for the policy default.
    clause
        ``int32`` reason code: index into :attr:`reason_table` minus one (-1 = the default).
    country
        ``int16`` index into :attr:`Engine.codes` of the country under each fix (-1: sea / none).
    assumptions
        Defaults used for columns the input did not have.
    """

    engine: Engine
    decision: np.ndarray
    rule: np.ndarray
    clause: np.ndarray
    country: np.ndarray
    fixes: Fixes
    assumptions: list[str]

    def __len__(self) -> int:
        return len(self.decision)

    @property
    def labels(self) -> np.ndarray:
        """Decision labels (``<U7`` strings)."""
        return np.asarray(DECISIONS)[self.decision]

    @property
    def reason_table(self) -> list[str]:
        """Reason texts by code: entry 0 is the default, entry k+1 clause k."""
        return self.engine.reason_table

    def reasons(self) -> pd.Categorical:
        """A readable reason per fix, as a categorical over :attr:`reason_table` (no per-fix string building)."""
        seen: dict[str, int] = {}
        categories = []
        for text in self.reason_table:  # two clauses of one rule may share a text: keep categories distinct
            seen[text] = seen.get(text, 0) + 1
            categories.append(text if seen[text] == 1 else f"{text} (#{seen[text]})")
        return pd.Categorical.from_codes(self.clause + 1, categories=categories)

    def rule_ids(self) -> pd.Categorical:
        """The deciding rule's id per fix (``default`` for the policy default)."""
        policy = self.engine.policy
        table = ["default", *(policy.rule_id(i) for i in range(len(policy.spec.rules)))]
        return pd.Categorical.from_codes(self.rule + 1, categories=table)

    def countries(self) -> np.ndarray:
        """ISO alpha-2 code of the country under each fix ("" at sea)."""
        table = np.asarray([*self.engine.codes, ""], dtype="<U2")
        return table[self.country]

    def reason(self, i: int) -> str:
        """The reason for fix ``i`` with the fix's own values (speed, altitude, country ...)."""
        i = int(i)
        base = self.reason_table[int(self.clause[i]) + 1]
        code = int(self.country[i])
        country = self.engine.codes[code] if code >= 0 else "no country (sea)"
        facts = [f"at {self.fixes.lat[i]:.5f}, {self.fixes.lon[i]:.5f} ({country})"]
        c = int(self.clause[i])
        if c < 0 and code >= 0:
            entry = self.engine.policy.statuses.get(country)
            if entry is not None:
                when = f", expected: {entry.expected}" if entry.expected else ""
                facts.append(f"{country} is {entry.status} on the {self.engine.operator} map{when}")
        if c >= 0:
            detail = self.engine.clauses[c].detail
            if detail == "speed":
                facts.append(f"speed {self.fixes.speed_kmh[i]:g} km/h")
            elif detail == "altitude":
                facts.append(f"altitude {self.fixes.alt_m[i]:g} m")
            elif detail == "days" and self.fixes.days_abroad is not None:
                facts.append(f"{self.fixes.days_abroad[i]:g} days abroad")
            elif detail == "end_use":
                facts.append(f"end use {self.fixes.end_uses[self.fixes.end_use[i]]}")
        return f"{base} ({'; '.join(facts)})"

    def to_frame(self) -> pd.DataFrame:
        """``decision``, ``rule``, ``rule_id``, ``reason`` and ``country`` columns (categoricals where useful)."""
        return pd.DataFrame(
            {
                "decision": pd.Categorical.from_codes(self.decision.astype(np.int8), categories=list(DECISIONS)),
                "rule": self.rule,
                "rule_id": self.rule_ids(),
                "reason": self.reasons(),
                "country": pd.Categorical.from_codes(self.country, categories=list(self.engine.codes))
                if len(self.engine.codes)
                else pd.Categorical([None] * len(self.country)),
            }
        )

    def counts(self) -> dict[str, int]:
        """How many fixes got each decision."""
        numbers = np.bincount(self.decision, minlength=len(DECISIONS))
        return {label: int(numbers[k]) for k, label in enumerate(DECISIONS)}


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared for one fix."""

    index: int
    id: str
    kind: str
    priority: int
    action: str
    matched: bool
    decided: bool
    why: str

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "id": self.id,
            "kind": self.kind,
            "priority": self.priority,
            "action": self.action,
            "matched": self.matched,
            "decided": self.decided,
            "why": self.why,
        }


@dataclass(frozen=True)
class Explanation:
    """A decision for one fix with every rule considered, in precedence order."""

    decision: str
    rule: int
    rule_id: str
    reason: str
    country: str
    zones: list[str]
    fix: dict
    traces: list[RuleTrace]
    policy_id: str

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "rule": self.rule_id,
            "rule_index": self.rule,
            "reason": self.reason,
            "country": self.country,
            "zones": self.zones,
            "fix": self.fix,
            "policy_id": self.policy_id,
            "rules": [t.to_dict() for t in self.traces],
        }


# --------------------------------------------------------------------------- the engine


class Engine:
    """A policy compiled for one operator: evaluate fixes in bulk, or explain one.

    Build with :meth:`Policy.engine <skyfence.policy.files.Policy.engine>`.  The tile index is built on first use
    and kept (about 50 MB at the default 0.05° tiles).
    """

    def __init__(self, policy, *, operator: str, tile_deg: float = 0.05) -> None:
        if operator not in policy.operators:
            raise PolicyError(f"operator {operator!r} is not in the policy", field="operator",
                              hint="declared operators: " + ", ".join(policy.operators))
        self.policy = policy
        self.operator = operator
        self.tile_deg = tile_deg
        compiled: Compiled = policy._compiled
        self.compiled = compiled
        self.geo = compiled.geography
        self.clauses = [c for c in compiled.clauses if c.operators is None or operator in c.operators]
        self.plans = policy.plans
        if len(self.plans) > 64:
            raise PolicyError("at most 64 plans", field="plans")
        self.plan_code = {p: k for k, p in enumerate(self.plans)}
        self.codes: list[str] = sorted({p.country for p in self.geo.parts if p.country})
        self.code_index = {c: k for k, c in enumerate(self.codes)}
        self._index: TileIndex | None = None
        self._zone_tables()
        self._clause_arrays()
        self.reason_table = [
            f"{policy.default} by the policy default: no rule covers this fix",
            *(c.text for c in self.clauses),
        ]
        self.has_roaming = any(c.days_gt > -math.inf for c in self.clauses)

    # ----------------------------------------------------------------- tables

    def _zone_tables(self) -> None:
        geo = self.geo
        n_zones = max(len(geo.zone_list), 1)
        self.words = (n_zones + 63) // 64
        n_parts = len(geo.parts)
        self.part_bits = np.zeros((n_parts, self.words), dtype=np.uint64)
        self.world_bits = np.zeros(self.words, dtype=np.uint64)
        self.sea_bits = np.zeros(self.words, dtype=np.uint64)
        for z, zone in enumerate(geo.zone_list):
            word, bit = z >> 6, np.uint64(1) << np.uint64(z & 63)
            for p in zone.parts:
                self.part_bits[p, word] |= bit
            if zone.world:
                self.world_bits[word] |= bit
            if zone.sea:
                self.sea_bits[word] |= bit
        self.part_is_country = np.array([p.country is not None for p in geo.parts], dtype=bool)
        self.part_code = np.array(
            [self.code_index.get(p.country, -1) if p.country else -1 for p in geo.parts], dtype=np.int16
        )
        self.part_area = np.array([p.area_deg2 for p in geo.parts], dtype=float)

    def _clause_arrays(self) -> None:
        clauses = self.clauses
        n = len(clauses)
        self.c_action = np.array([_ACTION_CODE[c.action] for c in clauses], dtype=np.uint8)
        self.c_rule = np.array([c.rule for c in clauses], dtype=np.int32)
        self.c_zone = np.array([c.zone for c in clauses], dtype=np.int64)
        self.c_neg = np.array([c.negate for c in clauses], dtype=np.bool_)
        self.c_zone_b = np.array([c.zone_b for c in clauses], dtype=np.int64)
        all_plans = np.uint64((1 << len(self.plans)) - 1) if len(self.plans) < 64 else np.uint64(2**64 - 1)
        self.c_plan = np.array(
            [all_plans if c.plans is None else np.uint64(sum(1 << self.plan_code[p] for p in c.plans))
             for c in clauses],
            dtype=np.uint64,
        )
        self.c_tfrom = np.array([c.t_from for c in clauses], dtype=np.int64)
        self.c_tuntil = np.array([c.t_until for c in clauses], dtype=np.int64)
        self.c_wl = np.array([c.whitelisted for c in clauses], dtype=np.int8)
        self.c_listed = np.array([c.listed for c in clauses], dtype=np.int64)
        self.c_speed = np.array([c.speed_gt for c in clauses], dtype=np.float64)
        self.c_alt = np.array([c.alt_gt for c in clauses], dtype=np.float64)
        self.c_days = np.array([c.days_gt for c in clauses], dtype=np.float64)
        self.c_abroad = np.array([c.abroad for c in clauses], dtype=np.bool_)
        self.c_reg_any = np.array([c.registered_in is None for c in clauses], dtype=np.bool_)
        self.c_end_any = np.array([c.end_uses is None for c in clauses], dtype=np.bool_)
        self._n_clauses = n

    def _reg_table(self, codes: list[str]) -> np.ndarray:
        table = np.zeros((len(self.clauses), max(len(codes), 1)), dtype=np.bool_)
        lookup = {c: k for k, c in enumerate(codes)}
        for i, c in enumerate(self.clauses):
            for code in c.registered_in or ():
                if code in lookup:
                    table[i, lookup[code]] = True
        return table

    def _end_table(self, end_uses: list[str]) -> np.ndarray:
        table = np.zeros((len(self.clauses), max(len(end_uses), 1)), dtype=np.bool_)
        lookup = {c: k for k, c in enumerate(end_uses)}
        for i, c in enumerate(self.clauses):
            for use in c.end_uses or ():
                if use in lookup:
                    table[i, lookup[use]] = True
        return table

    # ----------------------------------------------------------------- the tile index

    @property
    def index(self) -> TileIndex:
        """The tile index of the policy's parts (built on first use)."""
        if self._index is None:
            cached = self.compiled.tile_indexes
            if self.tile_deg not in cached:
                cached[self.tile_deg] = build_index([p.geometry for p in self.geo.parts], self.tile_deg)
            self._index = cached[self.tile_deg]
            self._class_tables()
        return self._index

    def _class_tables(self) -> None:
        index = self._index
        assert index is not None
        k = len(index.classes)  # one spare row: boundary tiles point there until they are resolved
        self.class_bits = np.zeros((k + 1, self.words), dtype=np.uint64)
        self.class_bits_nosea = np.zeros((k + 1, self.words), dtype=np.uint64)
        self.class_country = np.full(k + 1, -1, dtype=np.int16)
        self.class_has_country = np.zeros(k + 1, dtype=bool)
        self.class_country_part = np.full(k + 1, -1, dtype=np.int64)
        for c, parts in enumerate(index.classes):
            bits = self.world_bits.copy()
            best = -1
            for p in parts:
                bits |= self.part_bits[p]
                if self.part_is_country[p] and (best < 0 or self.part_area[p] < self.part_area[best]):
                    best = p
            self.class_bits_nosea[c] = bits
            has_country = best >= 0
            self.class_has_country[c] = has_country
            self.class_bits[c] = bits if has_country else bits | self.sea_bits
            if has_country:
                self.class_country[c] = self.part_code[best]
                self.class_country_part[c] = best

    # ----------------------------------------------------------------- locating fixes

    def locate(self, lat: np.ndarray, lon: np.ndarray, *, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """Zone bits ``(n, words)`` and country codes ``(n,)`` of validated points.

        ``method``: ``"index"`` (tile index, exact tests only in boundary tiles), ``"exact"`` (an STR-tree
        point-in-polygon query for every point; the reference) or ``"auto"`` (exact below 20,000 points).
        """
        n = len(lat)
        if method == "auto":
            method = "exact" if n < _EXACT_BELOW else "index"
        bits, country = self._locate(lat, lon, method)
        seam = np.flatnonzero(np.abs(lon) == 180.0)
        if seam.size:  # ±180° is one meridian: a point on it is in every part touching either side
            fixes, parts = [], []
            for side in (180.0, -180.0):
                seam_lat, seam_lon = lat[seam], np.full(seam.size, side)
                fix, part = self.geo.tree().query(shapely.points(seam_lon, seam_lat))
                hit = self._exact(fix, part, seam_lat, seam_lon)
                fixes.append(fix[hit])
                parts.append(part[hit])
            bits[seam], country[seam] = self._combine(seam.size, None, np.concatenate(fixes), np.concatenate(parts))
        return bits, country

    def _locate(self, lat: np.ndarray, lon: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
        n = len(lat)
        if method == "exact":
            # bounding-box candidates from the STR-tree, then prepared point-in-polygon per part
            fix, part = self.geo.tree().query(shapely.points(lon, lat))
            hit = self._exact(fix, part, lat, lon)
            return self._combine(n, None, fix[hit], part[hit])
        if method != "index":
            raise PolicyError(f"unknown method {method!r}", field="method", hint="use auto, index or exact")
        index = self.index
        cls, flat = index.lookup(lat, lon)
        safe = np.minimum(cls, np.uint16(len(index.classes)))  # BOUNDARY → the spare row
        bits = self.class_bits[safe]
        country = self.class_country[safe]
        boundary = np.flatnonzero(cls == BOUNDARY)
        if boundary.size:
            b = np.searchsorted(index.boundary_tiles, flat[boundary])
            start = index.boundary_ptr[b]
            count = index.boundary_ptr[b + 1] - start
            rep = np.repeat(np.arange(boundary.size), count)
            offsets = np.arange(rep.size) - np.repeat(np.cumsum(count) - count, count)
            candidates = index.boundary_parts[np.repeat(start, count) + offsets]
            hit = self._exact(boundary[rep], candidates, lat, lon)
            sub_bits, sub_country = self._combine(boundary.size, index.boundary_base[b], rep[hit], candidates[hit])
            bits[boundary] = sub_bits
            country[boundary] = sub_country
        return bits, country

    def _exact(self, fix: np.ndarray, part: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Whether point ``fix[k]`` intersects part ``part[k]`` (prepared ``shapely.intersects_xy``, edges inside)."""
        hit = np.zeros(fix.size, dtype=bool)
        if not fix.size:
            return hit
        order = np.argsort(part, kind="stable")
        edges = np.flatnonzero(np.diff(part[order])) + 1
        for group in np.split(order, edges):
            geometry = self.geo.parts[int(part[group[0]])].geometry
            points = fix[group]
            hit[group] = shapely.intersects_xy(geometry, lon[points], lat[points])
        return hit

    def _combine(self, n: int, base: np.ndarray | None, fix: np.ndarray, part: np.ndarray):
        """Zone bits and country of ``n`` points from a base class (or none) plus exact (point, part) hits."""
        if base is None:
            bits = np.broadcast_to(self.world_bits, (n, self.words)).copy()
            has_country = np.zeros(n, dtype=bool)
            best_part = np.full(n, -1, dtype=np.int64)
        else:
            bits = self.class_bits_nosea[base].copy()
            has_country = self.class_has_country[base].copy()
            best_part = self.class_country_part[base].copy()
        if fix.size:
            np.bitwise_or.at(bits, fix, self.part_bits[part])
            is_country = self.part_is_country[part]
            has_country[fix[is_country]] = True
            cf, cp = fix[is_country], part[is_country]
            if cf.size:
                # the smallest unit wins on a shared border (as lookup_country)
                all_f = np.concatenate([cf, np.flatnonzero(best_part >= 0)])
                all_p = np.concatenate([cp, best_part[best_part >= 0]])
                order = np.lexsort((-self.part_area[all_p], all_f))
                last = np.append(np.flatnonzero(np.diff(all_f[order])), len(order) - 1)
                best_part[all_f[order][last]] = all_p[order][last]
        bits[~has_country] |= self.sea_bits
        country = np.where(best_part >= 0, self.part_code[np.maximum(best_part, 0)], -1).astype(np.int16)
        return bits, country

    # ----------------------------------------------------------------- fixes

    def prepare(self, fixes=None, *, source: str | None = None, **columns) -> Fixes:
        """Validate fix columns (see the module notes) into :class:`Fixes`."""
        cols = _columns(fixes, columns)
        if "lat" not in cols or "lon" not in cols:
            raise PolicyError("fixes need lat and lon columns", source=source, field="lat/lon")
        n = int(np.size(cols["lat"]))
        lat = _floats(cols["lat"], n, "lat", source, -90.0, 90.0, "deg")
        lon = _floats(cols["lon"], n, "lon", source, -180.0, 180.0, "deg")
        assumptions: list[str] = []
        if "alt_m" in cols:
            alt = _floats(cols["alt_m"], n, "alt_m", source, _MIN_ALT_M, _MAX_ALT_M, "m")
        else:
            alt = np.zeros(n)
            assumptions.append("alt_m = 0 (no altitude given)")
        if "speed_kmh" in cols:
            speed = _floats(cols["speed_kmh"], n, "speed_kmh", source, 0.0, _MAX_SPEED_KMH, "km/h")
        else:
            speed = np.zeros(n)
            assumptions.append("speed_kmh = 0 (no speed given: fixed terminals)")
        if "time" in cols:
            time_ns = _times(cols["time"], n, source)
        else:
            moment = self.policy.as_of()
            time_ns = np.full(n, _ns(moment), dtype=np.int64)
            origin = "the policy's as_of" if self.policy.spec.policy.as_of is not None else "now"
            assumptions.append(f"time = {moment.isoformat()} ({origin}; no time given)")
        if "plan" in cols:
            codes, categories = _codes(cols["plan"], n)
            table = np.zeros(len(categories), dtype=np.uint8)
            for k, name in enumerate(categories):
                if name not in self.plan_code:
                    row = int(np.flatnonzero(codes == k)[0])
                    raise _row_error(f"unknown plan {name!r}", row, "plan", source,
                                     hint="known plans: " + ", ".join(self.plans))
                table[k] = self.plan_code[name]
            plan = table[codes]
        else:
            plan = np.full(n, self.plan_code["residential"], dtype=np.uint8)
            assumptions.append("plan = residential (no plan given)")
        if "whitelisted" in cols:
            whitelisted = _booleans(cols["whitelisted"], n, source)
        else:
            whitelisted = np.zeros(n, dtype=bool)
            assumptions.append("whitelisted = false (no whitelist flag given)")
        if "registered_in" in cols:
            codes, categories = _codes(cols["registered_in"], n)
            table16 = np.full(len(categories), -1, dtype=np.int16)
            for k, name in enumerate(categories):
                code = name.strip().upper()
                if code:
                    if code not in self.code_index:
                        self.codes.append(code)
                        self.code_index[code] = len(self.codes) - 1
                    table16[k] = self.code_index[code]
            registered = table16[codes]
        else:
            registered = np.full(n, -1, dtype=np.int16)
        end_uses: list[str] = sorted({u for c in self.clauses for u in (c.end_uses or ())})
        if "end_use" in cols:
            codes, categories = _codes(cols["end_use"], n)
            lookup = {u: k for k, u in enumerate(end_uses)}
            table16 = np.full(len(categories), -1, dtype=np.int16)
            for k, name in enumerate(categories):
                if name.strip():
                    if name.strip() not in lookup:
                        end_uses.append(name.strip())
                        lookup[name.strip()] = len(end_uses) - 1
                    table16[k] = lookup[name.strip()]
            end_use = table16[codes]
        else:
            end_use = np.full(n, -1, dtype=np.int16)
        terminal = _codes(cols["terminal"], n) if "terminal" in cols else None
        days = None
        if "days_abroad" in cols:
            days = _floats(cols["days_abroad"], n, "days_abroad", source, 0.0, 1e6, "days")
        return Fixes(lat, lon, alt, speed, time_ns, plan, whitelisted, registered, end_use, end_uses, terminal, days,
                     assumptions)

    def _days_abroad(self, fx: Fixes, country: np.ndarray) -> np.ndarray:
        """Distinct UTC days each terminal spent in another country than its registration, up to each fix."""
        assert fx.terminal is not None
        n = len(fx)
        abroad = (country >= 0) & (fx.registered_in >= 0) & (country != fx.registered_in)
        day = fx.time_ns // 86_400_000_000_000
        term = fx.terminal[0]
        order = np.lexsort((fx.time_ns, term))
        frame = pd.DataFrame({"term": term[order], "day": day[order], "abroad": abroad[order]})
        first = frame["abroad"] & ~frame.duplicated(["term", "day", "abroad"])
        counted = first.groupby(frame["term"]).cumsum().to_numpy(dtype=float)
        days = np.empty(n)
        days[order] = counted
        return days

    def _listed_bits(self, fx: Fixes) -> np.ndarray:
        lists = self.compiled.terminal_lists
        bits = np.zeros(len(fx), dtype=np.uint64)
        if not lists or fx.terminal is None:
            return bits
        codes, categories = fx.terminal
        for k, members in enumerate(lists):
            table = np.array([c in members for c in categories], dtype=bool)
            bits[table[codes]] |= np.uint64(1) << np.uint64(k)
        return bits

    # ----------------------------------------------------------------- evaluation

    def evaluate(self, fixes=None, *, method: str = "auto", source: str | None = None, **columns) -> Decisions:
        """Decide every fix (a DataFrame, a dict of columns or keyword arrays); see the module notes."""
        fx = fixes if isinstance(fixes, Fixes) else self.prepare(fixes, source=source, **columns)
        bits, country = self.locate(fx.lat, fx.lon, method=method)
        return self._decide(fx, bits, country)

    def _decide(self, fx: Fixes, bits: np.ndarray, country: np.ndarray) -> Decisions:
        assumptions = list(fx.assumptions)
        days = fx.days_abroad
        if days is None:
            if self.has_roaming and fx.terminal is not None and not any(a.startswith("time =") for a in assumptions):
                days = self._days_abroad(fx, country)
                assumptions.append("days_abroad derived from terminal and time")
            else:
                days = np.zeros(len(fx))
                if self.has_roaming:
                    assumptions.append("days_abroad = 0 (no days_abroad, terminal and time columns)")
        clause = _decide(
            _ready(bits), _ready(fx.plan), _ready(fx.time_ns), _ready(fx.whitelisted), _ready(self._listed_bits(fx)),
            _ready(fx.speed_kmh), _ready(fx.alt_m), _ready(days), _ready(country), _ready(fx.registered_in),
            _ready(fx.end_use),
            self.c_zone, self.c_neg, self.c_zone_b, self.c_plan, self.c_tfrom, self.c_tuntil, self.c_wl,
            self.c_listed, self.c_speed, self.c_alt, self.c_days, self.c_abroad,
            self.c_reg_any, self._reg_table(self.codes), self.c_end_any, self._end_table(fx.end_uses),
        )
        default = np.uint8(_ACTION_CODE[self.policy.default])
        action_table = np.append(self.c_action, default)
        rule_table = np.append(self.c_rule, np.int32(-1))
        decision = action_table[clause]  # clause -1 picks the appended default
        rule = rule_table[clause]
        if fx.days_abroad is None:
            fx.days_abroad = days
        return Decisions(self, decision, rule, clause, country, fx, assumptions)

    # ----------------------------------------------------------------- explanation

    def explain(self, lat: float, lon: float, **fix) -> Explanation:
        """Every rule considered for one fix, in precedence order, whether it matched and why."""
        fx = self.prepare(lat=np.array([lat], dtype=float), lon=np.array([lon], dtype=float), **fix)
        decisions = self.evaluate(fx, method="exact")
        bits = self.locate(fx.lat, fx.lon, method="exact")[0][0]
        country = int(decisions.country[0])
        code = self.codes[country] if country >= 0 else ""
        inside = {z for z in range(len(self.geo.zone_list)) if (int(bits[z >> 6]) >> (z & 63)) & 1}
        days = float(decisions.fixes.days_abroad[0]) if decisions.fixes.days_abroad is not None else 0.0
        values = {
            "lat": float(fx.lat[0]),
            "lon": float(fx.lon[0]),
            "alt_m": float(fx.alt_m[0]),
            "speed_kmh": float(fx.speed_kmh[0]),
            "time": _fmt_ns(int(fx.time_ns[0])),
            "plan": self.plans[int(fx.plan[0])],
            "whitelisted": bool(fx.whitelisted[0]),
            "registered_in": self.codes[int(fx.registered_in[0])] if fx.registered_in[0] >= 0 else "",
            "end_use": fx.end_uses[int(fx.end_use[0])] if fx.end_use[0] >= 0 else "",
            "terminal": fx.terminal[1][int(fx.terminal[0][0])] if fx.terminal is not None else "",
            "days_abroad": days,
        }
        listed = self._listed_bits(fx)[0]
        traces = []
        decided_rule = None
        policy = self.policy
        clauses_by_rule: dict[int, list[Clause]] = {}
        for c in self.clauses:
            clauses_by_rule.setdefault(c.rule, []).append(c)
        for index in self.compiled.order:
            rule = policy.spec.rules[index]
            rid = policy.rule_id(index)
            mine = clauses_by_rule.get(index, [])
            if rule.operators and self.operator not in rule.operators:
                why, matched = f"applies to operator(s) {', '.join(rule.operators)}, not {self.operator}", False
            elif not mine:
                why, matched = self._why_empty(rule, code), False
            else:
                matched = False
                reasons = []
                for c in mine:
                    failure = self._failure(c, inside, values, listed, country, int(fx.registered_in[0]))
                    if failure is None:
                        matched = True
                        why = c.what
                        break
                    reasons.append(failure)
                else:
                    why = "; ".join(dict.fromkeys(reasons))
            decided = matched and decided_rule is None
            if decided:
                decided_rule = index
            traces.append(RuleTrace(index, rid, rule.kind, rule.priority, rule.action, matched, decided, why))
        decision = DECISIONS[int(decisions.decision[0])]
        rule_index = int(decisions.rule[0])
        if (decided_rule if decided_rule is not None else -1) != rule_index:  # pragma: no cover - a bug
            raise AssertionError(f"explain and the kernel disagree: {decided_rule} vs {rule_index}")
        return Explanation(
            decision=decision,
            rule=rule_index,
            rule_id=policy.rule_id(rule_index),
            reason=decisions.reason(0),
            country=code,
            zones=sorted(z.name for k, z in enumerate(self.geo.zone_list) if k in inside and
                         not z.name.startswith(("rule:", "status:", "licence:"))),
            fix=values,
            traces=traces,
            policy_id=policy.id,
        )

    def _why_empty(self, rule, code: str) -> str:
        if rule.kind == "status":
            entry = self.policy.statuses.get(code)
            if not code:
                return "no country here (sea), so no status"
            if entry is None:
                return f"{code} has no status on the {self.operator} map"
            return f"{code} has status {entry.status}, not {'/'.join(rule.statuses)}"
        if rule.kind == "licence":
            return f"no licence of {self.operator} is in state {'/'.join(rule.states)} and in force"
        return "the rule expands to nothing for this operator"

    def _failure(self, c: Clause, inside: set[int], v: dict, listed, country: int, reg: int) -> str | None:
        """Why clause ``c`` does not match (None when it does)."""
        geo = self.geo
        if c.zone >= 0:
            zone = geo.zone_list[c.zone]
            is_in = c.zone in inside
            if is_in == c.negate:
                if c.kind == "status":
                    entry = self.policy.statuses.get(self.codes[country]) if country >= 0 else None
                    here = self.codes[country] if country >= 0 else "sea"
                    return f"{here} has status {entry.status if entry else 'none'}"
                if c.kind == "licence":
                    return f"not in a jurisdiction where this licence is in force ({'/'.join(zone.countries)})"
                return ("inside " if c.negate else "outside ") + _describe_zone(geo, zone)
        if c.zone_b >= 0 and c.zone_b not in inside:
            return "outside " + _describe_zone(geo, geo.zone_list[c.zone_b])
        if c.plans is not None and v["plan"] not in c.plans:
            return f"plan {v['plan']} is not {'/'.join(sorted(c.plans))}"
        t = _ns(datetime.fromisoformat(v["time"].replace("Z", "+00:00")))
        if t < c.t_from or t >= c.t_until:
            start = "…" if c.t_from == _T_MIN else _fmt_ns(c.t_from)
            end = "…" if c.t_until == _T_MAX else _fmt_ns(c.t_until)
            return f"time {v['time']} outside [{start}, {end})"
        if c.whitelisted == 0:
            if v["whitelisted"]:
                return "terminal is whitelisted"
            if c.listed >= 0 and (int(listed) >> c.listed) & 1:
                return "terminal is on the rule's whitelist"
        elif c.whitelisted == 1 and not v["whitelisted"]:
            return "terminal is not whitelisted"
        if not v["speed_kmh"] > c.speed_gt:
            return f"speed {v['speed_kmh']:g} km/h is within {c.speed_gt:g} km/h"
        if not v["alt_m"] > c.alt_gt:
            return f"altitude {v['alt_m']:g} m is within {c.alt_gt:g} m"
        if c.days_gt > -math.inf and not v["days_abroad"] > c.days_gt:
            return f"{v['days_abroad']:g} days abroad is within {c.days_gt:g}"
        if c.abroad and (country < 0 or reg < 0 or country == reg):
            return "not outside a known registration country"
        if c.registered_in is not None and v["registered_in"] not in c.registered_in:
            return f"registered in {v['registered_in'] or 'unknown'}, not {'/'.join(sorted(c.registered_in))}"
        if c.end_uses is not None and v["end_use"] not in c.end_uses:
            return f"end use {v['end_use'] or 'undeclared'} is not {'/'.join(sorted(c.end_uses))}"
        return None
