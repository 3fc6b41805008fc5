"""Clause compilation: a policy's rules → conjunctive clauses in precedence order, with conflicts rejected.

**Rules → clauses.**  Each rule expands into one or more conjunctive *clauses*: a motion rule into a speed clause
and an altitude clause; an export-control rule into a destination clause and an end-use clause; a status rule into
one clause per (status, expected date) with the countries holding it; a licence rule into one clause per licence
and period in a matching state (a granted licence only where it is in force: its conditions met by the operator in
that country and not expired) -- and, with ``not_in_force = "deny"``, a deny clause per licence and period where it
is not in force, naming the state or the unmet condition.  A fix matches a rule when it matches any of its clauses.

**Conditions of a clause**, all of which must hold: inside its zone (``shapely.intersects_xy`` semantics: edges
are inside; ``side = "outside"`` geofences invert it), plan, time in ``[valid_from, valid_until)`` (a date as
``valid_until`` or ``expires`` is inclusive), whitelisted flag, speed above / altitude above the limit, days abroad
above the limit (and outside the registration country), registration country, end use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from skyfence.errors import PolicyError
from skyfence.orbits.time import iso_utc
from skyfence.policy import model as m
from skyfence.policy.index import TileIndex
from skyfence.policy.zones import Geography, ZoneGeometry

__all__ = ["Clause", "Compiled", "compile_policy", "licence_periods", "precedence"]

_T_MIN = np.iinfo(np.int64).min
_T_MAX = np.iinfo(np.int64).max


def _ns(moment) -> int:
    return int(np.datetime64(m.as_utc(moment).replace(tzinfo=None), "ns").astype(np.int64))


def _until_ns(moment) -> int:
    return int(np.datetime64(m.until_utc(moment).replace(tzinfo=None), "ns").astype(np.int64))


def _fmt_ns(value: int) -> str:
    return iso_utc(np.datetime64(int(value), "ns"))


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
    t_from_ns: int = _T_MIN
    t_until_ns: int = _T_MAX
    whitelisted: int = -1  # -1 any, 0 must not be whitelisted (whitelist rules), 1 must be
    listed: int = -1  # index of a whitelist's terminal list
    speed_gt_kmh: float = -math.inf
    alt_gt_m: float = -math.inf
    days_abroad_gt: float = -math.inf
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
    #: Terminal lists filled per call from the control plane's enrolments (``whitelists_from = "registry"``):
    #: list index → the ISO codes whose whitelists count.
    registry_lists: dict[int, tuple[str, ...]] = field(default_factory=dict)
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
            raise PolicyError(
                error.message, source=error.source or policy.zone_files.get(name), field=error.field, hint=error.hint
            ) from None
    compiled = Compiled(geo, [], precedence(spec.rules))
    unmapped = sorted(code for code in policy.statuses if code not in geo.code_rows)
    compiled.unmapped_status_codes = tuple(unmapped)
    for index in compiled.order:
        compiled.clauses.extend(_expand(policy, compiled, index))
    _check_conflicts(policy, compiled)
    return compiled


def _zone_of(geo: Geography, names: list[str]) -> ZoneGeometry:
    """The zone of ``names``: the zone itself, or a union named after its members ("+" is not allowed in names)."""
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
        "t_from_ns": _ns(rule.valid_from) if rule.valid_from is not None else _T_MIN,
        "t_until_ns": _until_ns(rule.valid_until) if rule.valid_until is not None else _T_MAX,
        "whitelisted": -1 if rule.whitelisted is None else int(rule.whitelisted),
        "registered_in": frozenset(rule.registered_in) if rule.registered_in is not None else None,
    }
    tail = _filters(rule, plans) + (f" — {rule.reason}" if rule.reason else "")

    def clause(what: str, **kw) -> Clause:
        args = {**base, **kw}
        head = f"{args['action']} by rule '{rid}' ({rule.kind}, priority {rule.priority}): "
        return Clause(text=head + what + tail, what=what + _filters(rule, args["plans"]), **args)

    kind = rule.kind
    names = rule.zone_names() if hasattr(rule, "zone_names") else []
    zone = _zone_of(geo, names) if names else None
    zone_index = geo.register(zone) if zone is not None else -1
    if kind == "jurisdiction":
        assert zone is not None
        return [clause("inside " + _describe_zone(geo, zone), zone=zone_index)]
    if kind == "geofence":
        assert zone is not None
        fence = geo.buffered(
            zone, rule.buffer_km, name=f"{zone.name}+{rule.buffer_km:g}km", field_path=f"rules[{index}].buffer_km"
        )
        fence_index = geo.register(fence)
        side = "inside" if rule.side == "inside" else "outside"
        extra = f" grown by {rule.buffer_km:g} km" if rule.buffer_km else ""
        return [clause(f"{side} geofence {zone.name!r}{extra}", zone=fence_index, negate=rule.side == "outside")]
    if kind == "whitelist":
        assert zone is not None
        listed = -1
        if spec.policy.whitelists_from == "registry":
            if not zone.countries or zone.world or zone.sea:
                raise PolicyError(
                    "a whitelist read from the registry needs a zone of ISO country codes (whose whitelists count)",
                    field=f"rules[{index}].zone",
                    hint="use a zone with countries = [...]",
                )
            compiled.terminal_lists.append(frozenset())  # filled per call (Engine.evaluate(terminal_lists=...))
            listed = len(compiled.terminal_lists) - 1
            compiled.registry_lists[listed] = tuple(zone.countries)
            whose = "/".join(zone.countries)
            return [
                clause(
                    f"terminal not enrolled in the {whose} whitelist (registry) in {_describe_zone(geo, zone)}",
                    zone=zone_index,
                    whitelisted=0,
                    listed=listed,
                )
            ]
        if rule.terminals:
            compiled.terminal_lists.append(frozenset(rule.terminals))
            listed = len(compiled.terminal_lists) - 1
        return [
            clause(
                f"terminal not whitelisted in {_describe_zone(geo, zone)}",
                zone=zone_index,
                whitelisted=0,
                listed=listed,
            )
        ]
    if kind == "motion":
        where = f" in {_describe_zone(geo, zone)}" if zone is not None else ""
        out = []
        if rule.max_speed_kmh is not None:
            out.append(
                clause(
                    f"moving faster than {rule.max_speed_kmh:g} km/h{where}",
                    zone=zone_index,
                    speed_gt_kmh=float(rule.max_speed_kmh),
                    detail="speed",
                )
            )
        if rule.max_altitude_m is not None:
            out.append(
                clause(
                    f"higher than {rule.max_altitude_m:g} m{where}",
                    zone=zone_index,
                    alt_gt_m=float(rule.max_altitude_m),
                    detail="altitude",
                )
            )
        return out
    if kind == "roaming":
        where = f" in {_describe_zone(geo, zone)}" if zone is not None else ""
        return [
            clause(
                f"more than {rule.max_days_abroad} days outside the registration country{where}",
                zone=zone_index,
                days_abroad_gt=float(rule.max_days_abroad),
                abroad=True,
                detail="days",
            )
        ]
    if kind == "export_control":
        out = []
        if rule.destinations:
            dest = _zone_of(geo, list(rule.destinations))
            out.append(clause(f"export-controlled destination {_describe_zone(geo, dest)}", zone=geo.register(dest)))
        if rule.end_uses:
            out.append(
                clause(
                    "denied end use (" + ", ".join(rule.end_uses) + ")",
                    end_uses=frozenset(rule.end_uses),
                    detail="end_use",
                )
            )
        return out
    if kind == "status":
        return _status_clauses(policy, geo, rule, clause, zone_index, base["t_from_ns"])
    if kind == "licence":
        return _licence_clauses(policy, geo, rule, index, clause, base)
    raise AssertionError(kind)  # pragma: no cover


def _status_clauses(policy, geo, rule, clause, filter_index, clause_from_ns: int = _T_MIN) -> list[Clause]:
    out = []
    operator = policy.operator
    for status in rule.statuses:
        groups: dict[tuple[str | None, date | None], list[str]] = {}
        for code, entry in sorted(policy.statuses.items()):
            if entry.status == status and code in geo.code_rows:
                groups.setdefault((entry.expected, entry.since), []).append(code)
        for (expected, since), codes in groups.items():
            parts = frozenset(p for c in codes for p in geo.code_rows[c])
            label = f"status:{operator}:{status}:{expected}:{since}"
            zone = ZoneGeometry(
                label, parts, countries=tuple(codes), description=f"{len(codes)} countries with status {status}"
            )
            index = geo.register(zone)
            when = f" (expected: {expected})" if expected else ""
            dated = {}
            if since is not None:
                when += f" since {since.isoformat()}"
                dated = {"t_from_ns": max(clause_from_ns, _ns(since))}
            out.append(
                clause(
                    f"country's status on the {operator} map is {status}{when}",
                    zone=index,
                    zone_b=filter_index,
                    operators=frozenset({operator}),
                    detail="status",
                    **dated,
                )
            )
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


#: How an unmet condition is named in a reason (the control plane's words: :mod:`skyfence.service.registry`).
_UNMET = {
    "local_gateway": "no operational gateway in {cc}",
    "local_ownership": "local ownership bounds not met in {cc}",
    "lawful_intercept": "no operational PoP in {cc} (lawful intercept)",
}


def _why_not(licence: m.Licence, state: str, start_ns: int) -> str | None:
    """Why a licence in ``state`` from ``start_ns`` does not serve (the control plane's words); ``None`` before its
    first state (no licence yet: like a country without one, left to lower rules)."""
    expires = licence.conditions.expires
    if state == "none" and expires is not None and start_ns >= _until_ns(expires):
        return f"licence expired on {expires.isoformat()}"
    if state == "none":
        return None
    return f"licence {state}, not granted"


def _denial(clause, geo: Geography, why: str, target: ZoneGeometry, label: str, **kw) -> Clause:
    """A deny clause of a ``not_in_force = "deny"`` licence rule: the licence exists in ``target`` but does not
    serve there, for ``why``."""
    where = "/".join(target.countries) or target.name
    return clause(f"licence not in force ({why}) for {where} ({label})", action="deny", zone=geo.register(target), **kw)


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
        if conditional and (
            not zone.countries
            or zone.world
            or zone.sea
            or len(zone.parts) != len({p for c in zone.countries for p in geo.code_rows[c]})
        ):
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
        shared = {"operators": frozenset({operator}), "plans": plans, "detail": f"licence:{number}"}
        for start, end, state in licence_periods(licence):
            t_from_ns = max(start, base["t_from_ns"])
            t_until_ns = min(end, base["t_until_ns"])
            if t_from_ns >= t_until_ns:
                continue
            if state not in rule.states:
                why = _why_not(licence, state, start) if rule.not_in_force == "deny" else None
                if why is not None:
                    out.append(
                        _denial(clause, geo, why, zone, label, t_from_ns=t_from_ns, t_until_ns=t_until_ns, **shared)
                    )
                continue
            target = zone
            note = ""
            if state == "granted" and conditional:
                unmet = {c: _conditions_met(policy, licence, operator, c) for c in zone.countries}
                in_force = [c for c in zone.countries if not unmet[c]]
                for code in zone.countries if rule.not_in_force == "deny" else ():
                    if unmet[code]:
                        why = "condition unmet: " + "; ".join(_UNMET[name].format(cc=code) for name in unmet[code])
                        only = ZoneGeometry(
                            f"licence:{number}:unmet:{code}",
                            frozenset(geo.code_rows[code]),
                            countries=(code,),
                            description=code,
                        )
                        out.append(
                            _denial(clause, geo, why, only, label, t_from_ns=t_from_ns, t_until_ns=t_until_ns, **shared)
                        )
                if not in_force:
                    continue
                if len(in_force) < len(zone.countries):
                    parts = frozenset(p for c in in_force for p in geo.code_rows[c])
                    target = ZoneGeometry(
                        f"licence:{number}:in-force", parts, countries=tuple(in_force), description="/".join(in_force)
                    )
                note = ", conditions met (" + ", ".join(c for c in m.CONDITIONS if getattr(licence.conditions, c)) + ")"
            expiry = licence.conditions.expires
            span = f", expires {expiry.isoformat()}" if expiry is not None and state == "granted" else ""
            text = (
                f"{operator} holds a licence in state {state} for {'/'.join(target.countries) or target.name}"
                f" ({label}){note}{span}"
            )
            out.append(
                clause(
                    text,
                    zone=geo.register(target),
                    operators=frozenset({operator}),
                    plans=plans,
                    t_from_ns=t_from_ns,
                    t_until_ns=t_until_ns,
                    detail=f"licence:{number}",
                )
            )
    return out


# --------------------------------------------------------------------------- conflicts


def _intersects(a, b) -> bool:
    return a is None or b is None or bool(a & b)


def _may_overlap(geo: Geography, a: Clause, b: Clause) -> bool:
    if not (_intersects(a.operators, b.operators) and _intersects(a.plans, b.plans)):
        return False
    if max(a.t_from_ns, b.t_from_ns) >= min(a.t_until_ns, b.t_until_ns):
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
            for b in group[i + 1 :]:
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
