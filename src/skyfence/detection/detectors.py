"""Detectors: kinematics, diversion, geometry consistency and geofence probing, one causal scan per terminal.

Two stages, so that results never depend on how fixes are ordered or batched:

1. **Per-fix context** (stateless, vectorised): the policy's decision at the reported position and at the serving
   beam-cell centre (is it a *high-risk* place: denied by a location rule -- occupied territory, a blacklisted or
   embargoed country), the country there, whether the point lies in the band just outside a geofence or near the
   front, the distance from the reported position to the serving beam-cell centre and the serving satellite's
   elevation seen from the reported position (SGP4 through the twin's propagation chain).
2. **Per-terminal scan** (one compiled loop over fixes sorted by terminal, time and a tie-break on every reported
   column), carrying a bounded state per terminal (:data:`STATE_FIELDS`): the previous fix, the previous interval's
   speed and climb, counters.  Each alert kind fires at most once per terminal, at the first fix where its decision
   holds; later evidence does not repeat it.

Decisions (thresholds in :class:`Thresholds`, sources and reasoning in ``docs/validation_detection.md``):

``drone_suspected``
    the two latest intervals (each <= 15 min) have computed ground speeds in the band a strike drone flies
    (88-275 km/h), no airliner speed (> 450 km/h) was seen in the last hour, and at least one of: both speeds above
    140 km/h (no ground vehicle), climbing > 2 m/s in both intervals, first switched on in a high-risk place,
    self-reported speed below the computed one by > 40 km/h in both intervals.
``diversion_suspected``
    registered in one country, first switched on in a high-risk place of another; or >= 3 fixes in a high-risk
    place of another country -- by the reported position when the serving beam agrees with it (within 35 km), or
    by the serving beam's centre for at least half of the terminal's fixes; or one of >= 3 terminals of one
    account, registered abroad, first seen within 50 km of a geofence edge (a cluster near the front).  "Switched on
    in a high-risk place" for the drone rule likewise needs the beam to agree with the reported position.
``spoofing_suspected``
    >= 2 fixes with the serving beam-cell centre > 35 km from the reported position or the serving satellite below
    15 deg from it; or >= 2 jumps faster than any plan allows (the policy's largest motion limit, default
    1,200 km/h).
``roaming_limit``
    more distinct UTC days with fixes in another country than the policy's roaming rule allows (default 60).
``geofence_probing``
    >= 3 *appearances* in the 15 km band just outside a deny geofence: a fix in the band whose previous fix was
    not, and was > 20 km away or > 30 min earlier (driving into the band is not an appearance).

GNSS jamming and spoofing (the threat layer's ``gnss_l1`` jammers, :func:`skyfence.threats.jamming.gnss_denied`):
where and while GNSS is jammed at a fix's reported position or at its serving beam-cell centre, the reported
position is not the terminal's doing -- electronic warfare moves it (in Ukraine, receivers near the front report
positions hundreds of km away).  Such a fix adds no spoofing evidence (neither a geometry mismatch nor an impossible
jump), and for diversion only the serving beam counts, as when the beam disagrees with the reported position.

Duplicate timestamps within a terminal: the fix first in the sort order (time, then lat, lon, alt, speed, satellite,
cell) is used and the others are ignored.  In a stream, a fix older than the terminal's newest processed fix is late
and ignored by the scan (its context is still computed); see :class:`StreamDetector`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd

from skyfence.detection.geo import haversine_km, serving_elevation_deg
from skyfence.errors import InputError

__all__ = [
    "ALERT_COLUMNS",
    "KINDS",
    "REQUIRED_COLUMNS",
    "STATE_FIELDS",
    "Context",
    "Prepared",
    "StreamDetector",
    "Thresholds",
    "detect",
    "new_state",
    "prepare",
    "prepare_checked",
]

KINDS = ("drone_suspected", "diversion_suspected", "spoofing_suspected", "roaming_limit", "geofence_probing")
_BIT = {k: 1 << i for i, k in enumerate(KINDS)}
REQUIRED_COLUMNS = ("terminal_id", "time", "lat_deg", "lon_deg")
OPTIONAL_DEFAULTS = {
    "account_id": -1,
    "registered_in": "",
    "alt_m": np.nan,
    "speed_kmh": np.nan,
    "serving_sat": -1,
    "serving_cell": 0,
}
ALERT_COLUMNS = ("terminal_id", "kind", "time", "score", "evidence")

#: Per-terminal state carried between batches (float64 each; bounded: one row per terminal).
STATE_FIELDS = (
    "n",
    "last_t",
    "last_lat",
    "last_lon",
    "last_alt",
    "v1",
    "c1",
    "rv1",
    "fast_t",
    "first_hr",
    "hr",
    "beam_hr",
    "geo_bad",
    "jumps",
    "in_band",
    "appear",
    "abroad_days",
    "abroad_last_day",
    "alerted",
    "first_zone",
)
_S = {name: k for k, name in enumerate(STATE_FIELDS)}


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds (see the module notes)."""

    drone_min_kmh: float = 88.0
    drone_max_kmh: float = 275.0
    ground_max_kmh: float = 140.0
    airliner_kmh: float = 450.0
    airliner_memory_s: float = 3600.0
    climb_m_s: float = 2.0
    speed_lie_kmh: float = 40.0
    max_interval_s: float = 900.0
    beam_tolerance_km: float = 35.0
    min_serving_elevation_deg: float = 15.0
    geometry_count: int = 2
    jump_count: int = 2
    high_risk_count: int = 3
    cluster_size: int = 3
    cluster_radius_km: float = 50.0
    band_km: float = 15.0
    appear_jump_km: float = 20.0
    appear_gap_s: float = 1800.0
    appear_count: int = 3


# --------------------------------------------------------------------------- context from the policy


class Context:
    """What the detectors take from a policy: high-risk places, geofence bands, plan limits, roaming limit."""

    def __init__(
        self,
        policy,
        *,
        thresholds: Thresholds | None = None,
        constellation: str | None = None,
        raster_deg: float = 0.02,
        gnss_jammers=(),
    ) -> None:
        from skyfence.policy import model as m
        from skyfence.policy.zones import buffer_km

        self.policy = policy
        self.th = thresholds or Thresholds()
        self.engine = policy.engine()
        self.constellation_source = constellation
        self._constellation: Any = None
        rules = policy.spec.rules
        self.location_rules = np.array(
            [r.kind in ("jurisdiction", "geofence", "export_control", "status") and r.action == "deny" for r in rules]
            + [False],
            dtype=bool,
        )  # index -1 (policy default) -> False
        speeds = [r.max_speed_kmh for r in rules if isinstance(r, m.MotionRule) and r.max_speed_kmh is not None]
        self.max_plan_kmh = 1.1 * max(speeds) if speeds and max(speeds) >= 900 else 1200.0
        days = [r.max_days_abroad for r in rules if isinstance(r, m.RoamingRule)]
        self.max_days_abroad = int(min(days)) if days else 60
        geo = self.engine.geo
        import shapely

        fences = []
        for r in rules:
            inside = getattr(r, "side", "inside") == "inside"
            if r.kind in ("jurisdiction", "geofence") and r.action == "deny" and inside:
                for name in r.zone_names():
                    zone = geo.zones.get(name)
                    if zone is None or zone.world or zone.sea or not zone.parts:
                        continue
                    if zone.countries and len(zone.parts) > 3:
                        continue  # whole-country zones are borders, not front lines
                    g = shapely.union_all([geo.parts[p].geometry for p in zone.parts])
                    fences.append(buffer_km(g, r.buffer_km) if getattr(r, "buffer_km", 0.0) else g)
        self.fence = shapely.union_all(fences) if fences else None
        self.raster_deg = raster_deg
        #: GNSS L1 jammers (:class:`skyfence.threats.jamming.JammerSite`, band ``gnss_l1``): see the module notes
        self.gnss_jammers = tuple(j for j in gnss_jammers if getattr(j, "band", None) == "gnss_l1")
        self._band = self._near = None
        if self.fence is not None:
            band = shapely.difference(buffer_km(self.fence, self.th.band_km), self.fence)
            near = buffer_km(self.fence, self.th.cluster_radius_km)
            self._band = _Raster(band, raster_deg)
            self._near = _Raster(near, raster_deg)

    @property
    def constellation(self):
        if self._constellation is None and self.constellation_source:
            from skyfence.orbits.sources import load_constellation

            self._constellation = load_constellation(self.constellation_source)
        return self._constellation

    def places(
        self,
        lat: np.ndarray,
        lon: np.ndarray,
        time_ns: np.ndarray,
        *,
        located: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """High-risk flag and ISO country code (``<U2``, "" at sea) of points, from the policy (``located``: this
        engine's :meth:`~skyfence.policy.engine.Engine.locate` of the points, when the caller has it)."""
        n = len(lat)
        if n == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype="<U2")
        decisions = self.engine.evaluate(
            lat=lat,
            lon=lon,
            time=time_ns.astype("datetime64[ns]"),
            whitelisted=np.ones(n, dtype=bool),
            located=located,
        )
        deny = decisions.decision == 1
        location = self.location_rules[decisions.rule]
        return deny & location, decisions.countries()

    def gnss_denied(self, lat: np.ndarray, lon: np.ndarray, time_ns: np.ndarray) -> np.ndarray:
        """Per point: GNSS jammed there at that time by one of :attr:`gnss_jammers` (NaN positions: False)."""
        if not self.gnss_jammers:
            return np.zeros(len(lat), dtype=bool)
        from skyfence.threats.jamming import gnss_denied

        return gnss_denied(self.gnss_jammers, lat, lon, np.asarray(time_ns).astype("datetime64[ns]"))

    def in_band(self, lat, lon) -> np.ndarray:
        return self._band.contains(lat, lon) if self._band is not None else np.zeros(len(lat), dtype=bool)

    def near_front(self, lat, lon) -> np.ndarray:
        return self._near.contains(lat, lon) if self._near is not None else np.zeros(len(lat), dtype=bool)


class _Raster:
    """A polygon rasterised on a lat/lon grid (cell centres tested once with shapely): fast membership."""

    def __init__(self, geometry, deg: float) -> None:
        import shapely

        minx, miny, maxx, maxy = geometry.bounds
        self.deg = deg
        self.x0, self.y0 = minx, miny
        self.nx = int(np.ceil((maxx - minx) / deg)) + 1
        self.ny = int(np.ceil((maxy - miny) / deg)) + 1
        xs = minx + (np.arange(self.nx) + 0.5) * deg
        ys = miny + (np.arange(self.ny) + 0.5) * deg
        gx, gy = np.meshgrid(xs, ys)
        shapely.prepare(geometry)
        self.mask = shapely.contains_xy(geometry, gx.ravel(), gy.ravel()).reshape(self.ny, self.nx)

    def contains(self, lat, lon) -> np.ndarray:
        i = np.floor((np.asarray(lat) - self.y0) / self.deg)
        j = np.floor((np.asarray(lon) - self.x0) / self.deg)
        ok = (i >= 0) & (i < self.ny) & (j >= 0) & (j < self.nx)
        out = np.zeros(len(i), dtype=bool)
        out[ok] = self.mask[i[ok].astype(np.int64), j[ok].astype(np.int64)]
        return out


# --------------------------------------------------------------------------- input checks


Columns = dict[str, np.ndarray]


def _check(fixes: pd.DataFrame, source: str | None) -> Columns:
    """Validated fix columns as numpy arrays (defaults for the optional ones); bad rows raise naming the row."""
    missing = [c for c in REQUIRED_COLUMNS if c not in fixes.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            source=source,
            field=missing[0],
            hint="fixes need " + ", ".join(REQUIRED_COLUMNS),
        )
    n = len(fixes)
    out: Columns = {}
    try:
        out["terminal_id"] = fixes["terminal_id"].to_numpy().astype(np.int64)
    except (TypeError, ValueError):
        raise InputError("terminal_id must be integers", source=source, field="terminal_id") from None
    raw_time = fixes["time"]
    if raw_time.dtype == "datetime64[ns]":
        t = raw_time.to_numpy()
    else:
        time = pd.to_datetime(raw_time.to_numpy(), utc=True, errors="coerce")
        t = np.asarray(time.tz_localize(None), dtype="datetime64[ns]")
    for name, lo, hi in (("time", 0, 0), ("lat_deg", -90.0, 90.0), ("lon_deg", -180.0, 180.0)):
        if name == "time":
            bad = np.isnat(t)
            what = "time is missing or not a time"
        else:
            v = pd.to_numeric(fixes[name], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(v) | (v < lo) | (v > hi)
            what = f"{name} is NaN or outside [{lo:g}, {hi:g}]"
            out[name] = v
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                what,
                source=source,
                record=row + 1,
                field=name,
                hint="drop or repair that fix (rows are numbered from 1)",
            )
    out["time"] = t
    for name, default in OPTIONAL_DEFAULTS.items():
        if name not in fixes.columns:
            out[name] = np.full(n, default, dtype="<U2" if name == "registered_in" else None)
            continue
        col = fixes[name]
        if name == "registered_in":  # factorise first: one conversion per distinct code, not per fix
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            table = np.append(np.asarray([str(u)[:2] for u in uniques], dtype="<U2"), "")
            out[name] = table[codes]
        elif name == "serving_cell":
            out[name] = col.to_numpy().astype(np.uint64)
        elif name in ("account_id", "serving_sat"):
            out[name] = pd.to_numeric(col, errors="coerce").fillna(-1).to_numpy().astype(np.int64)
        else:
            out[name] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return out


# --------------------------------------------------------------------------- per-fix context


def _cell_centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import h3.api.numpy_int as h3n

    uniq, inverse = np.unique(cells, return_inverse=True)
    lat = np.full(len(uniq), np.nan)
    lon = np.full(len(uniq), np.nan)
    for k, c in enumerate(uniq.tolist()):
        if c:
            try:
                lat[k], lon[k] = h3n.cell_to_latlng(c)
            except Exception:
                pass
    return lat[inverse], lon[inverse]


def _serving_positions(ctx: Context, sat: np.ndarray, time_ns: np.ndarray) -> np.ndarray:
    """ITRF position [km] of each fix's serving satellite at the fix time (NaN where unknown).

    SGP4 runs once per distinct (satellite, time) pair -- fixes share them -- and the TEME->ITRF rotation once per
    distinct time, through the twin's propagation chain (:mod:`skyfence.orbits.propagate`).
    """
    from skyfence.orbits.propagate import teme_to_itrf_matrices
    from skyfence.orbits.time import julian_date_utc

    out = np.full((len(sat), 3), np.nan)
    constellation = ctx.constellation
    use = np.flatnonzero(sat >= 0)
    if constellation is None or not use.size:
        return out
    ids = constellation.satellites["norad_id"].to_numpy().astype(np.int64)
    if 0 <= ids.min() and ids.max() < 5_000_000:  # a direct NORAD id -> row table (at most 40 MB)
        table = np.full(int(ids.max()) + 2, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        found = table[np.clip(sat[use], 0, len(table) - 1)]
    else:  # 9-digit catalog numbers: binary search
        order_ids = np.argsort(ids)
        pos = np.minimum(np.searchsorted(ids[order_ids], sat[use]), len(ids) - 1)
        found = np.where(ids[order_ids][pos] == sat[use], order_ids[pos], -1)
    known = found >= 0
    use, row = use[known], found[known]
    if not use.size:
        return out
    times, step = np.unique(time_ns[use], return_inverse=True)
    pair, pair_of_fix = np.unique(row.astype(np.int64) * len(times) + step, return_inverse=True)
    pair_sat, pair_step = pair // len(times), pair % len(times)
    jd, fr = julian_date_utc(times.astype("datetime64[ns]"))
    r_teme = np.full((len(pair), 3), np.nan)
    bounds = np.flatnonzero(np.r_[True, pair_sat[1:] != pair_sat[:-1], True])
    satrecs = constellation.satrecs
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        steps = pair_step[a:b]
        error, r, _ = satrecs[int(pair_sat[a])].sgp4_array(jd[steps], fr[steps])
        r_teme[a:b] = np.where((error == 0)[:, None], r, np.nan)
    rotation = teme_to_itrf_matrices(times.astype("datetime64[ns]"))
    r_itrf = np.einsum("kij,kj->ki", rotation[pair_step], r_teme)
    out[use] = r_itrf[pair_of_fix]
    return out


def fix_context(
    ctx: Context, fx: Columns, *, located: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """The stateless per-fix context (see the module notes); ``located`` as in :func:`prepare_checked`."""
    from skyfence.earth.geodesy import geodetic_to_ecef

    lat = fx["lat_deg"]
    lon = fx["lon_deg"]
    t = fx["time"].view(np.int64)
    hr, country = ctx.places(lat, lon, t, located=located)
    c_lat, c_lon = _cell_centres(fx["serving_cell"].astype(np.uint64))
    has_cell = np.isfinite(c_lat)
    beam_hr = np.zeros(len(lat), dtype=bool)
    beam_country = np.full(len(lat), "", dtype="<U2")
    if has_cell.any():
        b_hr, b_country = ctx.places(c_lat[has_cell], c_lon[has_cell], t[has_cell])
        beam_hr[has_cell] = b_hr
        beam_country[has_cell] = b_country
    beam_km = np.where(has_cell, haversine_km(lat, lon, np.nan_to_num(c_lat), np.nan_to_num(c_lon)), np.nan)
    # GNSS jammed at the reported position or at the serving beam: the position is not evidence (module notes)
    gnss = ctx.gnss_denied(lat, lon, t) | ctx.gnss_denied(c_lat, c_lon, t)
    beam_km = np.where(gnss, np.nan, beam_km)
    sat = fx["serving_sat"]
    sat_pos = _serving_positions(ctx, sat, t)
    alt = np.nan_to_num(fx["alt_m"], nan=0.0)
    ground = geodetic_to_ecef(lat, lon, alt / 1000.0).reshape(-1, 3)
    elevation = np.where(gnss, np.nan, serving_elevation_deg(sat_pos, ground))
    registered = fx["registered_in"]
    # where the network sees the terminal: the reported position counts only when the beam agrees with it (and
    # GNSS is not jammed there)
    consistent = ~(beam_km > ctx.th.beam_tolerance_km) & ~gnss
    return {
        "zone": hr & consistent,
        "hr": hr & consistent & (registered != country),
        "beam_hr": beam_hr & (registered != beam_country),
        "abroad": (country != "") & (registered != "") & (registered != country),
        "band": ctx.in_band(lat, lon),
        "near": ctx.near_front(lat, lon) & (registered != country),
        "beam_km": beam_km,
        "sat_el": elevation,
        "gnss": gnss,
    }


# --------------------------------------------------------------------------- the scan


@numba.njit(cache=True, nogil=True)
def _scan(
    slot,
    t_s,
    lat,
    lon,
    alt,
    rep_speed,
    zone,
    hr,
    beam_hr,
    abroad,
    band,
    beam_km,
    sat_el,
    gnss,
    state,
    th,
    max_plan_kmh,
    max_days,
    out_row,
    out_kind,
    out_score,
    out_e1,
    out_e2,
    out_e3,
):  # pragma: no cover
    """One causal pass over fixes sorted by (slot, time, tie-break); returns the number of alerts written."""
    n_out = 0
    deg = np.pi / 180.0
    for k in range(slot.shape[0]):
        s = slot[k]
        st = state[s]
        t = t_s[k]
        first = st[0] == 0
        if not first and t <= st[1]:
            continue  # duplicate timestamp or late fix
        v = np.nan
        climb = np.nan
        d_km = np.nan
        dt = np.inf
        if not first:
            dt = t - st[1]
            p1 = st[2] * deg
            p2 = lat[k] * deg
            a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((lon[k] - st[3]) * deg / 2) ** 2
            d_km = 2.0 * 6371.0088 * np.arcsin(np.sqrt(min(max(a, 0.0), 1.0)))
            v = d_km / dt * 3600.0
            climb = (alt[k] - st[4]) / dt
        kinematic = dt <= th[8]
        fired = 0
        score = 0.0
        e1 = e2 = e3 = np.nan
        # -- kinematics: drone
        if kinematic and np.isfinite(st[5]) and not (int(st[18]) & 1):
            v_lo = min(v, st[5])
            v_hi = max(v, st[5])
            airliner_recent = (t - st[8]) <= th[4]
            if v_lo >= th[0] and v_hi <= th[1] and not airliner_recent:
                fast = v_lo > th[2]
                climbing = (climb > th[5]) and (st[6] > th[5])
                start_hr = st[19] > 0
                lie = (v - rep_speed[k] > th[6]) and (st[5] - st[7] > th[6])
                if fast or climbing or start_hr or lie:
                    fired |= 1
                    score = min(1.0, 0.4 + 0.15 * (fast + climbing + start_hr + lie))
                    e1, e2, e3 = v_lo, v_hi, fast * 1 + climbing * 2 + start_hr * 4 + lie * 8
        if kinematic:
            st[5] = v
            st[6] = climb if np.isfinite(climb) else 0.0
            st[7] = rep_speed[k] if np.isfinite(rep_speed[k]) else 0.0
        else:
            st[5] = np.nan
        if np.isfinite(v) and v > th[3]:
            st[8] = t
        # -- geometry consistency and impossible jumps
        if (np.isfinite(beam_km[k]) and beam_km[k] > th[9]) or (np.isfinite(sat_el[k]) and sat_el[k] < th[10]):
            st[12] += 1
        if np.isfinite(v) and v > max_plan_kmh and d_km > 5.0 and not gnss[k]:
            st[13] += 1
        if not (int(st[18]) & 4) and (st[12] >= th[11] or st[13] >= th[12]):
            fired |= 4
        # -- diversion
        if first:
            st[9] = 1.0 if (hr[k] or beam_hr[k]) else 0.0
            st[19] = 1.0 if zone[k] else 0.0
        if hr[k]:
            st[10] += 1
        if beam_hr[k]:
            st[11] += 1
        beam_majority = st[11] >= th[13] and st[11] >= 0.5 * (st[0] + 1)
        if not (int(st[18]) & 2) and ((first and st[9] > 0) or st[10] >= th[13] or beam_majority):
            fired |= 2
        # -- roaming days
        day = np.floor(t / 86400.0)
        if abroad[k] and day != st[17]:
            st[16] += 1
            st[17] = day
        if not (int(st[18]) & 8) and st[16] > max_days:
            fired |= 8
        # -- geofence probing
        if band[k] and st[14] == 0 and (first or d_km > th[16] or dt > th[17]):
            st[15] += 1
        st[14] = 1.0 if band[k] else 0.0
        if not (int(st[18]) & 16) and st[15] >= th[18]:
            fired |= 16
        # -- write alerts
        for b in range(5):
            if fired & (1 << b):
                out_row[n_out] = k
                out_kind[n_out] = b
                if b == 0:
                    out_score[n_out] = score
                    out_e1[n_out], out_e2[n_out], out_e3[n_out] = e1, e2, e3
                elif b == 1:
                    out_score[n_out] = min(1.0, 0.5 + 0.1 * max(st[10], st[11]) + 0.3 * st[9])
                    out_e1[n_out], out_e2[n_out], out_e3[n_out] = st[10], st[11], st[9]
                elif b == 2:
                    out_score[n_out] = min(1.0, 0.5 + 0.1 * (st[12] + st[13]))
                    out_e1[n_out], out_e2[n_out], out_e3[n_out] = st[12], st[13], beam_km[k]
                elif b == 3:
                    out_score[n_out] = min(1.0, st[16] / max(max_days, 1.0) - 0.5)
                    out_e1[n_out], out_e2[n_out], out_e3[n_out] = st[16], max_days, np.nan
                else:
                    out_score[n_out] = min(1.0, 0.3 + 0.15 * st[15])
                    out_e1[n_out], out_e2[n_out], out_e3[n_out] = st[15], np.nan, np.nan
                n_out += 1
        st[18] = float(int(st[18]) | fired)
        st[0] += 1
        st[1] = t
        st[2] = lat[k]
        st[3] = lon[k]
        st[4] = alt[k]
    return n_out


def _threshold_vector(th: Thresholds) -> np.ndarray:
    return np.array(
        [
            th.drone_min_kmh,
            th.drone_max_kmh,
            th.ground_max_kmh,
            th.airliner_kmh,
            th.airliner_memory_s,
            th.climb_m_s,
            th.speed_lie_kmh,
            np.nan,
            th.max_interval_s,
            th.beam_tolerance_km,
            th.min_serving_elevation_deg,
            th.geometry_count,
            th.jump_count,
            th.high_risk_count,
            np.nan,
            np.nan,
            th.appear_jump_km,
            th.appear_gap_s,
            th.appear_count,
        ],
        dtype=float,
    )


def _new_state(n: int) -> np.ndarray:
    state = np.zeros((n, len(STATE_FIELDS)))
    state[:, _S["v1"]] = np.nan
    state[:, _S["fast_t"]] = -1e18
    state[:, _S["abroad_last_day"]] = -1.0
    return state


def _evidence(kind: int, e1: float, e2: float, e3: float) -> str:
    if kind == 0:
        flags = int(e3) if np.isfinite(e3) else 0
        why = [
            n
            for b, n in (
                (1, "faster than ground vehicles"),
                (2, "climbing"),
                (4, "switched on in a high-risk place"),
                (8, "self-reported speed too low"),
            )
            if flags & b
        ]
        body = {"speed_kmh": [round(e1, 1), round(e2, 1)], "because": why}
    elif kind == 1:
        body = {"high_risk_fixes": int(e1), "high_risk_beam_fixes": int(e2), "first_activation_high_risk": bool(e3)}
    elif kind == 2:
        body = {
            "inconsistent_geometry_fixes": int(e1),
            "impossible_jumps": int(e2),
            "beam_offset_km": None if not np.isfinite(e3) else round(e3, 1),
        }
    elif kind == 3:
        body = {"days_abroad": int(e1), "max_days_abroad": int(e2)}
    else:
        body = {"appearances_outside_fence": int(e1)}
    return json.dumps(body, separators=(",", ":"))


# --------------------------------------------------------------------------- stream and batch front doors


@dataclass
class Prepared:
    """The stateless part of one batch (:func:`prepare`): checked columns, per-fix context and the scan order.

    ``terminals`` are the batch's distinct terminal ids (sorted), ``local`` each fix's index into them, ``order``
    the fixes sorted by terminal, time and the tie-break, ``first_row`` the row of each terminal's first fix in
    that order.
    """

    fx: Columns
    ctx: dict[str, np.ndarray]
    terminals: np.ndarray
    local: np.ndarray
    order: np.ndarray
    t_s: np.ndarray
    first_row: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def prepare(context: Context, fixes: pd.DataFrame, *, source: str | None = None) -> Prepared:
    """Check a batch and compute its per-fix context (no state involved; safe to run before taking any lock)."""
    return prepare_checked(context, _check(fixes, source))


def prepare_checked(context: Context, fx: Columns, *, located: tuple[np.ndarray, np.ndarray] | None = None) -> Prepared:
    """:func:`prepare` of columns that are checked already: every column :func:`_check` makes, with its dtype and
    valid values (the control plane's API validated each fix).  ``located``: the policy engine's
    :meth:`~skyfence.policy.engine.Engine.locate` of these fixes' positions, when the caller has it (the fixes are
    then not located twice)."""
    terminals, local = np.unique(fx["terminal_id"], return_inverse=True)
    local = local.astype(np.int64)
    if not len(local):
        empty = np.zeros(0, dtype=np.int64)
        return Prepared(fx, {}, terminals, local, empty, np.zeros(0), empty)
    ctx = fix_context(context, fx, located=located)
    order = _order(fx, local)
    s_sorted = local[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    return Prepared(fx, ctx, terminals, local, order, fx["time"].view(np.int64) / 1e9, order[starts])


def new_state(n: int) -> np.ndarray:
    """Fresh per-terminal state rows (``n`` x :data:`STATE_FIELDS`)."""
    return _new_state(n)


@dataclass
class StreamDetector:
    """Detectors over a stream of batches, with per-terminal state (see the module notes).

    ``process(batch)`` returns the new alerts of that batch.  A stream split into batches at any points, with any
    order inside a batch, gives the same alerts as :func:`detect` on the whole, as long as each terminal's fixes
    arrive in time order across batches (a fix older than one already processed is late, and ignored).

    The state is plain data -- ``slots`` (terminal id -> row of ``state``), ``state`` (one float64 row per terminal,
    :data:`STATE_FIELDS`), ``accounts`` (account -> ``(first seen [s], slot)`` of its terminals first seen near
    the front) and ``cluster_done`` -- so a caller may load it from storage, :meth:`advance` one prepared batch and
    store it back (the control-plane service does, per batch, in the batch's transaction).
    """

    context: Context
    slots: dict[int, int] = field(default_factory=dict)
    state: np.ndarray = field(default_factory=lambda: _new_state(0))
    accounts: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    cluster_done: set[int] = field(default_factory=set)
    late: int = 0
    #: Terminals seen for the first time by the last :meth:`advance`: slot -> (first time [s], account, near the
    #: front, row of that first fix).
    first_seen: dict[int, tuple[float, int, bool, int]] = field(default_factory=dict)

    def add_terminals(self, terminals: list[int], rows: np.ndarray | None = None) -> None:
        """Give terminals not seen yet a slot, with stored state ``rows`` (fresh state when ``None``)."""
        new = [t for t in terminals if t not in self.slots]
        if not new:
            return
        base = len(self.slots)
        for k, term in enumerate(new):
            self.slots[term] = base + k
        if rows is None:
            rows = _new_state(len(new))
        self.state = np.vstack([self.state, rows])

    def process(self, fixes: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
        return self.advance(prepare(self.context, fixes, source=source))

    def advance(self, batch: Prepared, *, with_rows: bool = False) -> pd.DataFrame:
        """Run the scan over a prepared batch, updating the state; the batch's new alerts.

        ``with_rows`` adds a column ``row``: the batch row of the fix each alert refers to (for an account-cluster
        alert of a terminal seen in an earlier batch, the first fix in this batch of the terminal that completed
        the cluster).
        """
        self.first_seen = {}
        if not len(batch):
            return _empty_alerts(with_rows)
        fx, ctx, order = batch.fx, batch.ctx, batch.order
        self.add_terminals([int(x) for x in batch.terminals.tolist()])
        table = np.array([self.slots[int(x)] for x in batch.terminals.tolist()], dtype=np.int64)
        slot = table[batch.local]
        fresh = self.state[table, _S["n"]] == 0
        for row in batch.first_row.tolist():
            if fresh[batch.local[row]]:
                s = int(table[batch.local[row]])
                self.first_seen[s] = (float(batch.t_s[row]), int(fx["account_id"][row]), bool(ctx["near"][row]), row)
        n = len(order)
        out_row = np.empty(5 * n, dtype=np.int64)
        out_kind = np.empty(5 * n, dtype=np.int64)
        out_score = np.empty(5 * n)
        out_e = [np.empty(5 * n) for _ in range(3)]
        g = lambda a: np.ascontiguousarray(a[order])  # noqa: E731
        m = _scan(
            g(slot),
            g(batch.t_s),
            g(fx["lat_deg"]),
            g(fx["lon_deg"]),
            g(np.nan_to_num(fx["alt_m"], nan=0.0)),
            g(fx["speed_kmh"]),
            g(ctx["zone"]),
            g(ctx["hr"]),
            g(ctx["beam_hr"]),
            g(ctx["abroad"]),
            g(ctx["band"]),
            g(ctx["beam_km"]),
            g(ctx["sat_el"]),
            g(ctx["gnss"]),
            self.state,
            _threshold_vector(self.context.th),
            float(self.context.max_plan_kmh),
            float(self.context.max_days_abroad),
            out_row,
            out_kind,
            out_score,
            *out_e,
        )
        rows = order[out_row[:m]]
        alerts = pd.DataFrame(
            {
                "terminal_id": fx["terminal_id"][rows],
                "kind": np.asarray(KINDS)[out_kind[:m]],
                "time": fx["time"][rows],
                "score": out_score[:m],
                "evidence": [
                    _evidence(int(k), a, b, c)
                    for k, a, b, c in zip(out_kind[:m], out_e[0][:m], out_e[1][:m], out_e[2][:m], strict=True)
                ],
            }
        )
        if with_rows:
            alerts["row"] = rows.astype(np.int64)
        clusters = self._clusters(with_rows)
        if len(clusters):
            alerts = pd.concat([alerts, clusters], ignore_index=True)
        return _sorted(alerts)

    def _clusters(self, with_rows: bool) -> pd.DataFrame:
        th = self.context.th
        touched: dict[int, int] = {}  # account -> row of its latest new member's first fix in this batch
        by_slot = {v: k for k, v in self.slots.items()} if self.first_seen else {}
        for s, (t0, account, near, row) in self.first_seen.items():
            if near and account >= 0:
                self.accounts.setdefault(account, []).append((t0, s))
                touched[account] = row
        rows = []
        for account in sorted(touched):
            members = sorted(self.accounts[account])
            if len(members) < th.cluster_size:
                continue
            t_cluster = members[th.cluster_size - 1][0]
            for t0, s in members:
                if s in self.cluster_done:
                    continue
                self.cluster_done.add(s)
                at = max(t0, t_cluster)
                mine = self.first_seen.get(s)
                row = mine[3] if mine is not None else touched[account]
                rows.append((by_slot[s], at, sum(1 for t, _ in members if t <= at), row))
        if not rows:
            return _empty_alerts(with_rows)
        out = pd.DataFrame(
            {
                "terminal_id": np.array([r[0] for r in rows], dtype=np.int64),
                "kind": "diversion_suspected",
                "time": (np.array([r[1] for r in rows]) * 1e9).astype(np.int64).astype("datetime64[ns]"),
                "score": [min(1.0, 0.5 + 0.1 * r[2]) for r in rows],
                "evidence": [json.dumps({"account_cluster_near_front": r[2]}, separators=(",", ":")) for r in rows],
            }
        )
        if with_rows:
            out["row"] = np.array([r[3] for r in rows], dtype=np.int64)
        return out


def _order(fx: Columns, slot: np.ndarray) -> np.ndarray:
    """Fixes sorted by terminal slot and time; ties (duplicate timestamps) by every reported column."""
    t_ns = fx["time"].view(np.int64)
    t_us = (t_ns - t_ns.min()) // 1000
    if t_us.max() < (1 << 43) and slot.max() < (1 << 20):
        order = np.argsort((slot.astype(np.int64) << 43) | t_us, kind="stable")  # one int64 key: fast
    else:  # pragma: no cover - spans beyond 100 days or a million terminals in one batch
        order = np.lexsort([t_ns, slot])
    s_sorted, t_sorted = slot[order], t_ns[order]
    tie = np.flatnonzero((s_sorted[1:] == s_sorted[:-1]) & (t_sorted[1:] == t_sorted[:-1]))
    if tie.size:
        rows = np.unique(np.concatenate([tie, tie + 1]))
        sub = order[rows]
        keys = [fx[c][sub] for c in ("serving_cell", "serving_sat", "speed_kmh", "alt_m", "lon_deg", "lat_deg")]
        keys = [np.nan_to_num(k.astype(float), nan=-1e300) if k.dtype.kind == "f" else k for k in keys]
        order[rows] = sub[np.lexsort([*keys, t_ns[sub], slot[sub]])]
    return order


def _empty_alerts(with_rows: bool = False) -> pd.DataFrame:
    columns = {
        "terminal_id": np.zeros(0, np.int64),
        "kind": np.zeros(0, dtype=object),
        "time": np.zeros(0, "datetime64[ns]"),
        "score": np.zeros(0),
        "evidence": np.zeros(0, object),
    }
    if with_rows:
        columns["row"] = np.zeros(0, np.int64)
    return pd.DataFrame(columns)


def _sorted(alerts: pd.DataFrame) -> pd.DataFrame:
    types: dict[str, Any] = {"terminal_id": np.int64, "kind": str, "time": "datetime64[ns]", "score": float}
    types["evidence"] = str
    if "row" in alerts.columns:
        types["row"] = np.int64
    alerts = alerts.astype(types)
    return alerts.sort_values(["time", "terminal_id", "kind"], kind="stable").reset_index(drop=True)


def detect(fixes: pd.DataFrame, context: Context, *, source: str | None = None) -> pd.DataFrame:
    """All alerts for a table of fixes (any order): columns :data:`ALERT_COLUMNS`.

    One alert per terminal and kind, except ``diversion_suspected``, which an account cluster can raise besides the
    per-terminal scan (its evidence says which); evaluation counts the earlier.
    """
    return StreamDetector(context).process(fixes, source=source)


def detect_time_sorted(
    pieces: Iterable[pd.DataFrame], context: Context, *, source: str | None = None
) -> pd.DataFrame | None:
    """:func:`detect` over a table read in consecutive pieces (Parquet row groups), or ``None`` if it is not sorted.

    The pieces must be in time order: each piece's times non-decreasing and none before the previous piece's last.
    Each timestamp's fixes are processed together (the fixes of the last timestamp of a piece wait for the next),
    so the alerts equal those of :func:`detect` on the whole table, with the memory of one piece. The first piece
    out of time order stops the scan and returns ``None``: read the whole table and call :func:`detect` then.
    A bad fix is named by its row in the whole table.
    """
    detector = StreamDetector(context)
    found: list[pd.DataFrame] = []
    carry: pd.DataFrame | None = None
    done = 0  # rows processed before the current piece
    last_ns: int | None = None

    def run(frame: pd.DataFrame) -> None:
        try:
            found.append(detector.process(frame, source=source))
        except InputError as error:
            if error.record is None:
                raise
            raise InputError(
                error.message, source=error.source, record=error.record + done, field=error.field, hint=error.hint
            ) from None

    for piece in pieces:
        if not len(piece):
            continue
        time = piece["time"]
        if time.dtype != "datetime64[ns]":
            return None
        t_ns = time.to_numpy().view(np.int64)
        if (last_ns is not None and t_ns[0] < last_ns) or (np.diff(t_ns) < 0).any():
            return None
        last_ns = int(t_ns[-1])
        frame = piece if carry is None else pd.concat([carry, piece], ignore_index=True)
        t_ns = frame["time"].to_numpy().view(np.int64)
        cut = int(np.searchsorted(t_ns, t_ns[-1], side="left"))  # the last timestamp's fixes wait
        carry = frame.iloc[cut:].reset_index(drop=True)
        if cut:
            run(frame.iloc[:cut].reset_index(drop=True))
            done += cut
    if carry is not None and len(carry):
        run(carry)
    if not found:
        return _sorted(_empty_alerts())
    return _sorted(pd.concat(found, ignore_index=True))
