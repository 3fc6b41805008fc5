"""PoP assignment as the operator does it, and the ground-segment rules that make every PoP reachable.

Operator assignment
-------------------
Starlink sends a customer's traffic to the PoP that serves the customer's
country or region, whatever the shortest path.  The assignment staged in the
data mirror (``ground_stations/starlink_country_pop_assignment_20261008.csv``,
derived from Starlink's RFC 8805 geofeed, its ``pops.csv`` and reverse DNS;
PROVENANCE.md section 3f) lists per country, region and city the PoPs its
address blocks leave from, with the number of prefixes.  A country's PoPs are
weighted by their prefix counts (address blocks, not customers: the only
public proxy); a terminal takes the shares of the geofeed city nearest to it in
its country (cities located with the gazetteer), since countries with several
PoPs are split by region.  Countries without rows fall back to the nearest PoP.

Where a PoP is
--------------
PoP codes are located with the clarkzjw/starlink-geoip PoP list (PROVENANCE
3c, PeeringDB facilities); the 14 newer codes it lacks are placed at their
metro's city centre from the GeoNames gazetteer (:data:`METRO_CITIES`, from
the assignment's ``pop_metro_code``: IATA-like codes such as ``arn`` =
Stockholm).  An assigned PoP within :data:`SAME_METRO_KM` of a PoP of the
ground segment is that PoP; otherwise it is added to the segment.

Ground-segment rules (documented inference)
-------------------------------------------
* **Backhaul and backbone.**  A gateway is backhauled to its home PoP (the
  nearest, :mod:`skyfence.network.ground`); PoPs are joined by the operator's
  terrestrial backbone, modelled as a full mesh of fibre routes (great circle x
  fibre factor at c / 1.468).  So a PoP is reachable over any gateway:
  gateway -> home PoP -> backbone -> assigned PoP.
* **Gateway inference.**  Six operational PoPs of the default list (Accra,
  Almaty, Dhaka, Johannesburg, Lima, Mumbai) have no gateway homed to them,
  yet the countries they serve measure far below the 26-39 ms detours the
  listed gateways imply -- so real gateways exist near them that the community
  lists miss.  :func:`infer_gateways` adds one gateway at every PoP that has
  none homed to it (name ``"<PoP> (inferred gateway)"``).  It is on by default
  in the realistic model and can be switched off to see the holes.

Plausibility check
------------------
The assignment comes from a geofeed and reverse DNS, and a prefix can be
mis-geolocated (``US,US-CA,Los Angeles,almykaz1,Almaty,1``: one Los Angeles
prefix leaving at Almaty, 11,282 km beyond the Los Angeles PoP).  The file is
not ours to edit, so :func:`load_pop_assignment` checks each row as it loads: a
PoP more than :data:`IMPLAUSIBLE_DETOUR_KM` farther from the geofeed city than
the nearest PoP listed for that same city is left out, and named in one line (file, line,
city, PoP, distances) in :attr:`PopAssignment.excluded`, which the CLI prints as a warning and writes in its JSON.
The longest real detours in the 2026-10-08 snapshot are about 4,500 km (Dubai
to Frankfurt beside Doha, Sao Paulo to Bogota, Aden to Frankfurt): Starlink does
send a share of some countries' prefixes to another continent, so the limit
sits above them; only Los Angeles -> Almaty exceeds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skyfence.data.store import input_cache, note_file
from skyfence.errors import InputError

__all__ = [
    "ASSIGNMENT_FILE",
    "IMPLAUSIBLE_DETOUR_KM",
    "METRO_CITIES",
    "POP_ASSIGNMENTS",
    "PopAssignment",
    "infer_gateways",
    "load_pop_assignment",
    "locate_pops",
]

#: The staged country/region -> PoP assignment (relative to ``$SKYFENCE_DATA_DIR``).
ASSIGNMENT_FILE = "ground_stations/starlink_country_pop_assignment_20261008.csv"
#: PoP locations (code -> city, lat, lon) from clarkzjw/starlink-geoip (relative to ``$SKYFENCE_DATA_DIR``).
POP_LIST_FILE = "ground_stations/starlink_pops_clarkzjw_20260416.json"
#: ``nearest``: the nearest PoP by delay (pure geometry); ``operator``: the PoP(s) the operator assigns.
POP_ASSIGNMENTS = ("nearest", "operator")
#: An assigned PoP this close [km] to a ground-segment PoP is the same site.
SAME_METRO_KM = 150.0
#: A row whose PoP is this much farther [km] from its geofeed city than the nearest PoP listed for the same city is
#: taken as mis-geolocated and left out (module docstring: real detours reach about 4,500 km).
IMPLAUSIBLE_DETOUR_KM = 6000.0
#: PoP codes missing from the clarkzjw list: metro -> gazetteer city (``"City, CC"``).
METRO_CITIES = {
    "poa": "Porto Alegre, BR",
    "dss": "Dakar, SN",
    "kul": "Kuala Lumpur, MY",
    "arn": "Stockholm, SE",
    "bth": "Batam, ID",
    "del": "New Delhi, IN",
    "maa": "Chennai, IN",
    "ccu": "Kolkata, IN",
    "sgn": "Ho Chi Minh City, VN",
    "mfe": "McAllen, US",
    "ebb": "Kampala, UG",
    "atl2": "Atlanta, US",
    "pdx2": "Portland, US",
    "staging2": "Kent, US",
}
_COLUMNS = ("iso_a2", "region", "city", "pop_code", "n_prefixes")


def _data_root() -> Path:
    from skyfence.data import data_dir, mirror_origin
    from skyfence.errors import DatasetError

    root = data_dir()
    if root is None or not root.is_dir():
        raise DatasetError(
            f"the operator PoP assignment needs the shared data folder; found {mirror_origin()}",
            hint="set SKYFENCE_DATA_DIR to it, or pass an assignment file",
        )
    return root


@dataclass(frozen=True, eq=False)
class PopAssignment:
    """Country -> PoP shares from an assignment table (columns ``iso_a2, region, city, pop_code, n_prefixes``)
    and the PoPs' locations (``pops``: ``pop_code, name, lat_deg, lon_deg, country``)."""

    table: pd.DataFrame
    pops: pd.DataFrame
    source: str = ""
    #: Rows left out as implausible, one line each (file, line, city, PoP, why): the CLI prints them as warnings.
    excluded: tuple[str, ...] = ()

    @property
    def countries(self) -> list[str]:
        """Countries with at least one assigned PoP (ISO alpha-2, sorted)."""
        return sorted(self.table["iso_a2"].unique().tolist())

    def shares(self, country: str, lat_deg: float | None = None, lon_deg: float | None = None) -> dict[str, float]:
        """``{pop_code: share}`` for ``country`` (prefix-weighted, sums to 1; empty when not listed).

        With a location, the shares of the geofeed city nearest to it (cities located with the gazetteer;
        a country of several PoPs is usually split by region: New York and Los Angeles leave at different
        PoPs); without one, or when none of the country's geofeed cities can be located, the country's.
        """
        code = country.upper()
        rows = self.table[self.table["iso_a2"] == code]
        if not len(rows):
            return {}
        if lat_deg is not None and lon_deg is not None:
            located = self._city_points().get(code)
            if located:
                from skyfence.network.ground import great_circle_km

                names = list(located)
                points = np.array([located[n] for n in names])
                nearest = names[int(np.argmin(great_circle_km(lat_deg, lon_deg, points[:, 0], points[:, 1])))]
                rows = rows[rows["city"] == nearest]
        counts = rows.groupby("pop_code")["n_prefixes"].sum().sort_values(ascending=False, kind="stable")
        return {str(k): float(v) / float(counts.sum()) for k, v in counts.items()}

    def _city_points(self) -> dict[str, dict[str, tuple[float, float]]]:
        """``{country: {geofeed city: (lat, lon)}}`` for the cities the gazetteer knows (cached)."""
        cache = self.__dict__.get("_points")
        if cache is None:
            from skyfence.earth.places import resolve_place

            cache = {}
            for code, city in self.table[["iso_a2", "city"]].drop_duplicates().itertuples(index=False):
                if not city:
                    continue
                try:
                    place = resolve_place(f"{city}, {code}")
                except InputError:
                    continue
                cache.setdefault(code, {})[city] = (place.lat_deg, place.lon_deg)
            object.__setattr__(self, "_points", cache)
        return cache


def load_pop_assignment(path: str | os.PathLike[str] | None = None) -> PopAssignment:
    """Read an assignment CSV (default: the staged snapshot, :data:`ASSIGNMENT_FILE`) and locate its PoPs.

    Bad rows raise :class:`~skyfence.errors.InputError` naming the file, line and field; a PoP code that
    cannot be located (not in the PoP list, no ``pop_metro_code`` in :data:`METRO_CITIES`) is an error.  A row
    whose PoP is implausibly far (module docstring, "Plausibility check") is left out and named in ``excluded``.
    """
    source = Path(path) if path is not None else _data_root() / ASSIGNMENT_FILE
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    note_file(source, kind="pop_assignment")
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"assignment file lacks columns {missing}", source=str(source), line=1, hint=f"need {', '.join(_COLUMNS)}"
        )
    for number, row in enumerate(table.itertuples(index=False), start=2):
        if len(str(row.iso_a2)) != 2 or not str(row.iso_a2).isalpha():
            raise InputError(
                f"country {row.iso_a2!r} is not an ISO alpha-2 code", source=str(source), line=number, field="iso_a2"
            )
        if not str(row.n_prefixes).isdigit():
            raise InputError(
                f"n_prefixes {row.n_prefixes!r} is not a count", source=str(source), line=number, field="n_prefixes"
            )
    table["iso_a2"] = table["iso_a2"].str.upper()
    table["n_prefixes"] = table["n_prefixes"].astype(int)
    metro = table["pop_metro_code"] if "pop_metro_code" in table.columns else pd.Series("", index=table.index)
    pops = locate_pops(table["pop_code"].tolist(), metro.tolist(), source=str(source))
    assignment = PopAssignment(table.loc[:, list(_COLUMNS)], pops, str(source))
    implausible = _implausible_rows(assignment)
    if not implausible:
        return assignment
    kept = assignment.table.drop(index=[i for i, _ in implausible])
    checked = PopAssignment(
        kept,
        pops[pops["pop_code"].isin(kept["pop_code"])].reset_index(drop=True),
        str(source),
        tuple(f"{source.name} line {index + 2}: {message}" for index, message in implausible),
    )
    object.__setattr__(checked, "_points", assignment._city_points())  # the cities are located once
    return checked


def _named(name: str, code: str) -> str:
    """A PoP as a warning names it: its site name with its code (``Almaty (almykaz1)``), the code once."""
    return name if code in name else f"{name} ({code})"


def _implausible_rows(assignment: PopAssignment) -> list[tuple[int, str]]:
    """(table index, why) of each row whose PoP lies more than :data:`IMPLAUSIBLE_DETOUR_KM` beyond the nearest PoP
    listed for the same geofeed city (rows of cities the gazetteer cannot locate are not judged)."""
    from skyfence.network.ground import great_circle_km

    points = assignment._city_points()
    where = assignment.pops.set_index("pop_code")
    table = assignment.table
    rows = []
    for index, row in table.iterrows():
        city = points.get(row["iso_a2"], {}).get(row["city"])
        if city is None or row["pop_code"] not in where.index:
            continue
        pop = where.loc[row["pop_code"]]
        rows.append((index, row, float(great_circle_km(city[0], city[1], pop["lat_deg"], pop["lon_deg"]))))
    nearest: dict[tuple, tuple[float, str]] = {}
    for _, row, km in rows:
        key = (row["iso_a2"], row["region"], row["city"])
        if key not in nearest or km < nearest[key][0]:
            nearest[key] = (km, str(row["pop_code"]))
    out = []
    for index, row, km in rows:
        best_km, best = nearest[(row["iso_a2"], row["region"], row["city"])]
        if km - best_km > IMPLAUSIBLE_DETOUR_KM:
            out.append(
                (
                    int(index),
                    f"PoP {_named(str(where.loc[row['pop_code'], 'name']), str(row['pop_code']))} for {row['city']}, "
                    f"{row['iso_a2']} "
                    f"is {km:,.0f} km away, {km - best_km:,.0f} km beyond the nearest PoP listed for that city "
                    f"({best}, {best_km:,.0f} km): taken as a mis-geolocated prefix and left out (limit "
                    f"{IMPLAUSIBLE_DETOUR_KM:,.0f} km)",
                )
            )
    return out


@input_cache(maxsize=1)
def _pop_list() -> dict[str, tuple[str, float, float]]:
    import json

    note_file(_data_root() / POP_LIST_FILE, kind="pop_list")
    items = json.loads((_data_root() / POP_LIST_FILE).read_text(encoding="utf-8"))
    return {
        str(i["code"]): (str(i["city"]), float(i["lat"]), float(i["lon"]))
        for i in items
        if i.get("code") and str(i.get("city", "Unknown")) != "Unknown"
    }


def locate_pops(codes: list[str], metros: list[str], *, source: str = "") -> pd.DataFrame:
    """``pop_code, name, lat_deg, lon_deg`` for each distinct code (see the module docstring)."""
    from skyfence.earth.places import resolve_place

    known = _pop_list()
    rows, seen = [], set()
    for number, (code, metro) in enumerate(zip(codes, metros, strict=True), start=2):
        if code in seen:
            continue
        seen.add(code)
        if code in known:
            city, lat, lon = known[code]
        elif str(metro).strip().lower() in METRO_CITIES:
            place = resolve_place(METRO_CITIES[str(metro).strip().lower()], field="pop_metro_code")
            city, lat, lon = place.name, place.lat_deg, place.lon_deg
        else:
            raise InputError(
                f"unknown PoP {code!r}: not in the PoP list and metro {metro!r} unknown",
                source=source,
                line=number,
                field="pop_code",
                hint="use a PoP code from starlink_pops_clarkzjw (e.g. frntdeu1) or add its metro",
            )
        rows.append({"pop_code": code, "name": city, "lat_deg": lat, "lon_deg": lon})
    return pd.DataFrame(rows, columns=["pop_code", "name", "lat_deg", "lon_deg"])


def merge_pops(ground, assignment: PopAssignment) -> tuple[object, dict[str, str]]:
    """The ground segment with every assigned PoP (matched within :data:`SAME_METRO_KM` or added), and
    ``{pop_code: site name}``."""
    from skyfence.network.ground import GroundSegment, great_circle_km

    sites = ground.sites
    existing = sites[sites["kind"] == "pop"]
    names: dict[str, str] = {}
    added = []
    added_codes: list[str] = []
    for row in assignment.pops.itertuples(index=False):
        if len(existing):
            d = great_circle_km(
                row.lat_deg, row.lon_deg, existing["lat_deg"].to_numpy(), existing["lon_deg"].to_numpy()
            )
            k = int(np.argmin(d))
            if d[k] <= SAME_METRO_KM:
                names[row.pop_code] = str(existing["name"].iloc[k])
                continue
        names[row.pop_code] = row.name
        added_codes.append(row.pop_code)
        added.append(
            {
                "name": row.name,
                "kind": "pop",
                "status": "operational",
                "lat_deg": float(row.lat_deg),
                "lon_deg": float(row.lon_deg),
                "alt_km": 0.0,
                "country": "",
                "home_pop": "",
            }
        )
    if not added:
        return ground, names
    from skyfence.network.ground import _countries, _home

    extra = pd.DataFrame(added)
    extra["country"] = _countries(extra["lat_deg"].to_numpy(float), extra["lon_deg"].to_numpy(float))
    # one format for every site: "City, Country", as the ground-segment list names its own (the PoP code stays in
    # the assignment's pop_code column); the code is added only to tell two PoPs of one city apart
    from skyfence.earth.regions import countries

    country_names = dict(zip(countries()["iso_a2"], countries()["name"], strict=True))
    taken = set(sites["name"].astype(str))
    for k, (code, city, iso) in enumerate(zip(added_codes, extra["name"], extra["country"], strict=True)):
        label = f"{city}, {country_names[iso]}" if country_names.get(iso) and "," not in city else city
        if label in taken:
            label = f"{label} ({code})"
        taken.add(label)
        names[code] = label
        extra.loc[k, "name"] = label
    merged = pd.concat([sites, extra], ignore_index=True)
    return GroundSegment(_home(merged), ground.source), names


def infer_gateways(ground):
    """The ground segment with one inferred gateway at every PoP that has no gateway homed to it
    (see the module docstring); returns ``(segment, [PoP names that got one])``."""
    from skyfence.network.ground import GroundSegment

    sites = ground.sites
    homed = set(sites.loc[sites["kind"] == "gateway", "home_pop"])
    lonely = sites[(sites["kind"] == "pop") & ~sites["name"].isin(homed)]
    if not len(lonely):
        return ground, []
    extra = lonely.assign(name=lonely["name"] + " (inferred gateway)", kind="gateway", home_pop=lonely["name"])
    merged = pd.concat([sites, extra], ignore_index=True)
    return GroundSegment(merged, ground.source), lonely["name"].tolist()
