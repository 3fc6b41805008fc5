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

**Speed.**  Locations come from the tile index of :mod:`skyfence.policy.index` (exact point-in-polygon only in
tiles that straddle a border); the rules run in one numba loop over fixes x clauses.  Reasons are a code table
(one text per clause), so 10 million decisions carry their reasons at no cost; :meth:`Decisions.reason` adds the
fix's own values for one fix.

Modules: :mod:`~skyfence.policy.clauses` (rules → clauses, conflicts), :mod:`~skyfence.policy.fixes` (fix columns →
arrays), this module (the kernel and :class:`Engine`) and :mod:`~skyfence.policy.results` (decisions, explanations).
An :class:`Engine` does not change once built: every table that depends on the input belongs to the call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import numba
import numpy as np
import pandas as pd
import shapely

from skyfence.earth.shared import GEOS_LOCK
from skyfence.errors import PolicyError
from skyfence.policy import model as m
from skyfence.policy.clauses import (
    _T_MAX,
    _T_MIN,
    Clause,
    Compiled,
    _describe_zone,
    _fmt_ns,
    _ns,
    compile_policy,
    licence_periods,
)
from skyfence.policy.fixes import Fixes, prepare_fixes
from skyfence.policy.index import BOUNDARY, TileIndex, build_index
from skyfence.policy.results import DECISIONS, Decisions, Explanation, RuleTrace

__all__ = ["DECISIONS", "Clause", "Decisions", "Engine", "Explanation", "RuleTrace", "compile_policy"]

_ACTION_CODE = {a: i for i, a in enumerate(m.ACTIONS)}
#: Below this many fixes the engine skips the tile index and asks an STR-tree directly (same answers).
_EXACT_BELOW = 20_000


# --------------------------------------------------------------------------- the kernel


@numba.njit(cache=True)
def _decide(
    zone_bits,
    plan,
    t,
    wl,
    listed,
    speed,
    alt,
    days,
    country,
    reg,
    end_use,
    c_zone,
    c_neg,
    c_zone_b,
    c_plan,
    c_tfrom,
    c_tuntil,
    c_wl,
    c_listed,
    c_speed,
    c_alt,
    c_days,
    c_abroad,
    c_reg_any,
    c_reg_table,
    c_end_any,
    c_end_table,
):  # pragma: no cover - numba
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


# --------------------------------------------------------------------------- the engine


@dataclass(frozen=True, eq=False)
class _Tiles:
    """The tile index and, per class of tiles, its zone bits (with and without the sea) and country."""

    index: TileIndex
    class_bits: np.ndarray
    class_bits_nosea: np.ndarray
    class_country: np.ndarray
    class_has_country: np.ndarray
    class_country_part: np.ndarray


class Engine:
    """A policy compiled for one operator: evaluate fixes in bulk, or explain one.

    Build with :meth:`Policy.engine <skyfence.policy.files.Policy.engine>`.  The tile index is built on first use
    and kept (about 50 MB at the default 0.05° tiles).
    """

    def __init__(self, policy, *, operator: str, tile_deg: float = 0.05) -> None:
        if operator not in policy.operators:
            raise PolicyError(
                f"operator {operator!r} is not in the policy",
                field="operator",
                hint="declared operators: " + ", ".join(policy.operators),
            )
        self.policy = policy
        self.operator = operator
        self.tile_deg = tile_deg
        compiled: Compiled = policy.compiled
        self.compiled = compiled
        self.geo = compiled.geography
        self.clauses = [c for c in compiled.clauses if c.operators is None or operator in c.operators]
        self.plans = policy.plans
        if len(self.plans) > 64:
            raise PolicyError("at most 64 plans", field="plans")
        self.plan_code = {p: k for k, p in enumerate(self.plans)}
        self.codes: tuple[str, ...] = tuple(sorted({p.country for p in self.geo.parts if p.country}))
        self.code_index = MappingProxyType({c: k for k, c in enumerate(self.codes)})
        self.end_uses: tuple[str, ...] = tuple(sorted({u for c in self.clauses for u in (c.end_uses or ())}))
        self._tiles: _Tiles | None = None
        self._zone_tables()
        self._clause_arrays()
        self.reason_table = [
            f"{policy.default} by the policy default: no rule covers this fix",
            *(c.text for c in self.clauses),
        ]
        self.has_roaming = any(c.days_abroad_gt > -math.inf for c in self.clauses)

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
            [
                all_plans if c.plans is None else np.uint64(sum(1 << self.plan_code[p] for p in c.plans))
                for c in clauses
            ],
            dtype=np.uint64,
        )
        self.c_tfrom = np.array([c.t_from_ns for c in clauses], dtype=np.int64)
        self.c_tuntil = np.array([c.t_until_ns for c in clauses], dtype=np.int64)
        self.c_wl = np.array([c.whitelisted for c in clauses], dtype=np.int8)
        self.c_listed = np.array([c.listed for c in clauses], dtype=np.int64)
        self.c_speed = np.array([c.speed_gt_kmh for c in clauses], dtype=np.float64)
        self.c_alt = np.array([c.alt_gt_m for c in clauses], dtype=np.float64)
        self.c_days = np.array([c.days_abroad_gt for c in clauses], dtype=np.float64)
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
        return self._tile_tables().index

    def _tile_tables(self) -> _Tiles:
        """The tile index with the zone bits and country of each of its classes, built once and published whole
        (concurrent first calls may both build it; they build the same thing)."""
        tiles = self._tiles
        if tiles is None:
            cached = self.compiled.tile_indexes
            if self.tile_deg not in cached:
                cached[self.tile_deg] = build_index([p.geometry for p in self.geo.parts], self.tile_deg)
            tiles = self._class_tables(cached[self.tile_deg])
            self._tiles = tiles
        return tiles

    def _class_tables(self, index: TileIndex) -> _Tiles:
        k = len(index.classes)  # one spare row: boundary tiles point there until they are resolved
        tiles = _Tiles(
            index=index,
            class_bits=np.zeros((k + 1, self.words), dtype=np.uint64),
            class_bits_nosea=np.zeros((k + 1, self.words), dtype=np.uint64),
            class_country=np.full(k + 1, -1, dtype=np.int16),
            class_has_country=np.zeros(k + 1, dtype=bool),
            class_country_part=np.full(k + 1, -1, dtype=np.int64),
        )
        for c, parts in enumerate(index.classes):
            bits = self.world_bits.copy()
            best = -1
            for p in parts:
                bits |= self.part_bits[p]
                if self.part_is_country[p] and (best < 0 or self.part_area[p] < self.part_area[best]):
                    best = p
            tiles.class_bits_nosea[c] = bits
            has_country = best >= 0
            tiles.class_has_country[c] = has_country
            tiles.class_bits[c] = bits if has_country else bits | self.sea_bits
            if has_country:
                tiles.class_country[c] = self.part_code[best]
                tiles.class_country_part[c] = best
        return tiles

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
        tiles = self._tile_tables()
        index = tiles.index
        cls, flat = index.lookup(lat, lon)
        safe = np.minimum(cls, np.uint16(len(index.classes)))  # BOUNDARY → the spare row
        bits = tiles.class_bits[safe]
        country = tiles.class_country[safe]
        boundary = np.flatnonzero(cls == BOUNDARY)
        if boundary.size:
            b = np.searchsorted(index.boundary_tiles, flat[boundary])
            start = index.boundary_ptr[b]
            count = index.boundary_ptr[b + 1] - start
            rep = np.repeat(np.arange(boundary.size), count)
            offsets = np.arange(rep.size) - np.repeat(np.cumsum(count) - count, count)
            candidates = index.boundary_parts[np.repeat(start, count) + offsets]
            hit = self._exact(boundary[rep], candidates, lat, lon)
            sub_bits, sub_country = self._combine(
                boundary.size, index.boundary_base[b], rep[hit], candidates[hit], tiles
            )
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
            # the parts are prepared and shared with other threads (country parts are the Natural Earth layer's own
            # geometries): the lock, one part at a time, so another thread waits for one call at most
            with GEOS_LOCK:
                hit[group] = shapely.intersects_xy(geometry, lon[points], lat[points])
        return hit

    def _combine(self, n: int, base: np.ndarray | None, fix: np.ndarray, part: np.ndarray, tiles: _Tiles | None = None):
        """Zone bits and country of ``n`` points from a base class (or none) plus exact (point, part) hits."""
        if base is None:
            bits = np.broadcast_to(self.world_bits, (n, self.words)).copy()
            has_country = np.zeros(n, dtype=bool)
            best_part = np.full(n, -1, dtype=np.int64)
        else:
            assert tiles is not None
            bits = tiles.class_bits_nosea[base].copy()
            has_country = tiles.class_has_country[base].copy()
            best_part = tiles.class_country_part[base].copy()
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
        """Validate fix columns (see :mod:`skyfence.policy.fixes`) into :class:`Fixes`."""
        return prepare_fixes(self, fixes, source=source, **columns)

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

    def _listed_bits(self, fx: Fixes, lists: list[frozenset[str]] | None = None) -> np.ndarray:
        lists = self.compiled.terminal_lists if lists is None else lists
        bits = np.zeros(len(fx), dtype=np.uint64)
        if not lists or fx.terminal is None:
            return bits
        codes, categories = fx.terminal
        for k, members in enumerate(lists):
            table = np.array([c in members for c in categories], dtype=bool)
            bits[table[codes]] |= np.uint64(1) << np.uint64(k)
        return bits

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self,
        fixes=None,
        *,
        method: str = "auto",
        source: str | None = None,
        terminal_lists: list[frozenset[str]] | None = None,
        located: tuple[np.ndarray, np.ndarray] | None = None,
        **columns,
    ) -> Decisions:
        """Decide every fix (a DataFrame, a dict of columns or keyword arrays); see the module notes.

        ``terminal_lists`` replaces the whitelists' terminal lists for this call (one per entry of
        ``compiled.terminal_lists``; the control plane fills the registry-driven ones from its enrolments).
        ``located`` is this engine's :meth:`locate` of the same positions, when the caller has it already (the
        control plane decides a batch and computes its detectors' context from one location).
        """
        fx = fixes if isinstance(fixes, Fixes) else self.prepare(fixes, source=source, **columns)
        if terminal_lists is not None and len(terminal_lists) != len(self.compiled.terminal_lists):
            raise PolicyError(
                f"{len(terminal_lists)} terminal lists given, the policy has {len(self.compiled.terminal_lists)}",
                field="terminal_lists",
            )
        bits, country = located if located is not None else self.locate(fx.lat_deg, fx.lon_deg, method=method)
        if len(bits) != len(fx) or len(country) != len(fx):
            raise PolicyError(f"located has {len(bits)} points, the fixes {len(fx)}", field="located")
        return self._decide(fx, bits, country, terminal_lists)

    def _decide(
        self, fx: Fixes, bits: np.ndarray, country: np.ndarray, terminal_lists: list[frozenset[str]] | None = None
    ) -> Decisions:
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
            _ready(bits),
            _ready(fx.plan),
            _ready(fx.time_ns),
            _ready(fx.whitelisted),
            _ready(self._listed_bits(fx, terminal_lists)),
            _ready(fx.speed_kmh),
            _ready(fx.alt_m),
            _ready(days),
            _ready(country),
            _ready(fx.registered_in),
            _ready(fx.end_use),
            self.c_zone,
            self.c_neg,
            self.c_zone_b,
            self.c_plan,
            self.c_tfrom,
            self.c_tuntil,
            self.c_wl,
            self.c_listed,
            self.c_speed,
            self.c_alt,
            self.c_days,
            self.c_abroad,
            self.c_reg_any,
            self._reg_table(fx.codes),
            self.c_end_any,
            self._end_table(fx.end_uses),
        )
        default = np.uint8(_ACTION_CODE[self.policy.default])
        action_table = np.append(self.c_action, default)
        rule_table = np.append(self.c_rule, np.int32(-1))
        decision = action_table[clause]  # clause -1 picks the appended default
        rule = rule_table[clause]
        if fx.days_abroad is None:
            fx.days_abroad = days
        w = self.geo.waters_zone
        waters = ((bits[:, w >> 6] >> np.uint64(w & 63)) & np.uint64(1)).astype(bool)
        return Decisions(self, decision, rule, clause, country, fx, assumptions, waters)

    # ----------------------------------------------------------------- explanation

    def explain(self, lat_deg: float, lon_deg: float, **fix) -> Explanation:
        """Every rule considered for one fix, in precedence order, whether it matched and why."""
        fx = self.prepare(lat_deg=np.array([lat_deg], dtype=float), lon_deg=np.array([lon_deg], dtype=float), **fix)
        decisions = self.evaluate(fx, method="exact")
        bits = self.locate(fx.lat_deg, fx.lon_deg, method="exact")[0][0]
        country = int(decisions.country[0])
        code = self.codes[country] if country >= 0 else ""
        inside = {z for z in range(len(self.geo.zone_list)) if (int(bits[z >> 6]) >> (z & 63)) & 1}
        days = float(decisions.fixes.days_abroad[0]) if decisions.fixes.days_abroad is not None else 0.0
        values = {
            "lat_deg": float(fx.lat_deg[0]),
            "lon_deg": float(fx.lon_deg[0]),
            "alt_m": float(fx.alt_m[0]),
            "speed_kmh": float(fx.speed_kmh[0]),
            "time": _fmt_ns(int(fx.time_ns[0])),
            "plan": self.plans[int(fx.plan[0])],
            "whitelisted": bool(fx.whitelisted[0]),
            "registered_in": fx.codes[int(fx.registered_in[0])] if fx.registered_in[0] >= 0 else "",
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
            action = rule.action  # a licence rule's not-in-force clause denies (model.LicenceRule.not_in_force)
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
                        matched, why, action = True, c.what, c.action
                        break
                    reasons.append(failure)
                else:
                    why = "; ".join(dict.fromkeys(reasons))
            decided = matched and decided_rule is None
            if decided:
                decided_rule = index
            traces.append(RuleTrace(index, rid, rule.kind, rule.priority, action, matched, decided, why))
        decision = DECISIONS[int(decisions.decision[0])]
        rule_index = int(decisions.rule[0])
        also = [t.id for t in traces if t.matched and not t.decided]
        if (decided_rule if decided_rule is not None else -1) != rule_index:  # pragma: no cover - a bug
            raise AssertionError(f"explain and the kernel disagree: {decided_rule} vs {rule_index}")
        return Explanation(
            decision=decision,
            rule=rule_index,
            rule_id=policy.rule_id(rule_index),
            reason=decisions.reason(0),
            country=code,
            zones=sorted(
                z.name
                for k, z in enumerate(self.geo.zone_list)
                if k in inside and not z.name.startswith(("rule:", "status:", "licence:", "waters:"))
            ),
            fix=values,
            traces=traces,
            policy_id=policy.id,
            also_matched=also,
            licence_note=self._licence_note(code, int(fx.time_ns[0]), values["plan"], rule_index, decision),
        )

    def _licence_note(self, code: str, t_ns: int, plan: str, rule_index: int, decision: str) -> str:
        """What the operator's licences say about country ``code`` at ``t_ns`` when a rule of another kind allowed
        or degraded the fix ("" when a licence rule decided, or for a denial): a regulator asking "was service
        lawful here then?" must not read an allow by a map status as a licence (review trial 2, item 14)."""
        spec = self.policy.spec
        if not code or decision == "deny" or not spec.licences:  # a policy without licences does not license
            return ""
        if rule_index >= 0 and spec.rules[rule_index].kind == "licence":
            return ""
        decided_by = f"rule '{self.policy.rule_id(rule_index)}'" if rule_index >= 0 else "the policy default"
        states = []
        for number, licence in enumerate(spec.licences):
            if (licence.operator or self.operator) != self.operator or (
                licence.plans is not None and plan not in licence.plans
            ):
                continue
            zone = self.geo.zones.get(f"licence:{number}")
            countries = zone.countries if zone is not None else tuple(licence.countries)
            if code not in countries:
                continue
            state, granted_from = "none", None
            for start, end, period_state in licence_periods(licence):
                if start <= t_ns < end:
                    state = period_state
                if period_state == "granted" and granted_from is None and start > t_ns:
                    granted_from = start
            text = f"{state}" + (f" (granted from {_fmt_ns(granted_from)[:10]})" if granted_from is not None else "")
            states.append(text)
        if not states:
            return (
                f"the policy records no licence of {self.operator} for {code} (plan {plan}): {decided_by} alone "
                f"{decision}s service here"
            )
        if any(s == "granted" for s in states):
            return ""  # a licence is granted too (a licence rule may have matched, see the rules that also matched)
        return (
            f"{code}'s licence of {self.operator} is {', '.join(states)} at this time: {decided_by} {decision}s "
            "service here without it (the licence played no part in this decision)"
        )

    def _why_empty(self, rule, code: str) -> str:
        if rule.kind == "status":
            entry = self.policy.statuses.get(code)
            if not code:
                return "no country here (sea), so no status"
            if entry is None:
                return f"{code} has no status on the {self.operator} map"
            return f"{code} has status {m.describe_status(entry.status)}, not {'/'.join(rule.statuses)}"
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
                    return f"{here} has status {m.describe_status(entry.status) if entry else 'none'}"
                if c.kind == "licence":
                    return f"not in a jurisdiction where this licence is in force ({'/'.join(zone.countries)})"
                return ("inside " if c.negate else "outside ") + _describe_zone(geo, zone)
        if c.zone_b >= 0 and c.zone_b not in inside:
            return "outside " + _describe_zone(geo, geo.zone_list[c.zone_b])
        if c.plans is not None and v["plan"] not in c.plans:
            return f"plan {v['plan']} is not {'/'.join(sorted(c.plans))}"
        t = _ns(datetime.fromisoformat(v["time"].replace("Z", "+00:00")))
        if t < c.t_from_ns or t >= c.t_until_ns:
            start = "…" if c.t_from_ns == _T_MIN else _fmt_ns(c.t_from_ns)
            end = "…" if c.t_until_ns == _T_MAX else _fmt_ns(c.t_until_ns)
            return f"time {v['time']} outside [{start}, {end})"
        if c.whitelisted == 0:
            if v["whitelisted"]:
                return "terminal is whitelisted"
            if c.listed >= 0 and (int(listed) >> c.listed) & 1:
                return "terminal is on the rule's whitelist"
        elif c.whitelisted == 1 and not v["whitelisted"]:
            return "terminal is not whitelisted"
        if not v["speed_kmh"] > c.speed_gt_kmh:
            return f"speed {v['speed_kmh']:g} km/h is within {c.speed_gt_kmh:g} km/h"
        if not v["alt_m"] > c.alt_gt_m:
            return f"altitude {v['alt_m']:g} m is within {c.alt_gt_m:g} m"
        if c.days_abroad_gt > -math.inf and not v["days_abroad"] > c.days_abroad_gt:
            return f"{v['days_abroad']:g} days abroad is within {c.days_abroad_gt:g}"
        if c.abroad and (country < 0 or reg < 0 or country == reg):
            return "not outside a known registration country"
        if c.registered_in is not None and v["registered_in"] not in c.registered_in:
            return f"registered in {v['registered_in'] or 'unknown'}, not {'/'.join(sorted(c.registered_in))}"
        if c.end_uses is not None and v["end_use"] not in c.end_uses:
            return f"end use {v['end_use'] or 'undeclared'} is not {'/'.join(sorted(c.end_uses))}"
        return None
