"""Regions: countries (with a point of view), disputed and occupied areas, custom polygons.

A :class:`Region` is a named lon/lat WGS-84 (Multi)Polygon that knows its H3
cells, its geodesic area and which points it contains.  :func:`get_region`
turns a spec into one:

=============================  ==========================================================
``"TW"``, ``"UKR"``            ISO 3166 alpha-2 / alpha-3 code (all parts with that code)
``"Taiwan"``                   country name, case-insensitive (Natural Earth names)
``"world"``                    the whole Earth
``"disputed:Crimea"``          a Natural Earth breakaway/disputed area (``BRK_NAME``)
``"occupied:ua:2026-08-22"``   Russian-occupied Ukraine on that date (DeepStateMap); ``latest`` works
``"area.geojson"``             a GeoJSON file (FeatureCollection, Feature or geometry)
=============================  ==========================================================

Countries come from Natural Earth admin-0 v5.1.1.  Borders are political: the
default layers draw Crimea in Russia, the German point of view (``pov="DEU"``,
published at 1:10m only) draws it in Ukraine.  Codes follow ISO 3166 via
Natural Earth's ``ISO_A2_EH`` ("even if -99") column, because ``ISO_A2`` is
``-99`` for France, Norway and Kosovo and ``CN-TW`` for Taiwan; the few
territories without an ISO code of their own get the code ISO 3166 files them
under (Northern Cyprus → CY, Somaliland → SO, Guantanamo Bay → CU), the UK
Sovereign Base Areas on Cyprus get GB, and indeterminate areas (Siachen, Bir
Tawil, Spratly Is., Scarborough Reef) get no code ("").

Layers are read once per process and their geometries prepared once; every thread then shares them (lookups,
every compiled policy's country parts), so each predicate on them holds :data:`skyfence.earth.shared.GEOS_LOCK`
(GEOS prepared geometries are not thread-safe; see :mod:`skyfence.earth.shared`).

References
----------
Natural Earth (2022). *Admin 0 -- Countries*, v5.1.1, naturalearthdata.com
(public domain); point-of-view layers and ``ISO_A2_EH``: release notes v5.0.0.
Natural Earth (2017). *Admin 0 -- Breakaway, disputed areas*, v4.0.0.
DeepStateMap (deepstatemap.live), daily polygons re-processed by
github.com/cyterat/deepstate-map-data (GPL-3.0).
Karney, C. F. F. (2013). Algorithms for geodesics. *J. Geodesy* 87, 43-55 --
the geodesic polygon areas (through pyproj.Geod).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from skyfence.data.store import input_cache, note_file
from skyfence.earth import cells as _cells
from skyfence.earth.shared import GEOS_LOCK
from skyfence.errors import InputError, RegionError, RegionWarning

__all__ = [
    "KINDS",
    "POVS",
    "Region",
    "RegionWarning",
    "check_country_codes",
    "countries",
    "disputed_areas",
    "geodesic_area_km2",
    "get_region",
    "lookup_country",
    "occupied_dates",
    "region_from_geojson",
    "region_info",
    "region_lookup",
]

#: Kinds of region.
KINDS = ("country", "disputed", "occupied", "custom", "world")
#: Points of view with their own country layer: ``"default"`` (Natural Earth's de-facto view) and ``"DEU"``.
POVS = ("default", "DEU")

#: (point of view, scale) → dataset name in :mod:`skyfence.data`.
_COUNTRY_LAYERS = {
    ("default", "110m"): "ne_admin0_110m",
    ("default", "50m"): "ne_admin0_50m",
    ("DEU", "10m"): "ne_admin0_10m_deu",
}
_DEFAULT_SCALE = {"default": "50m", "DEU": "10m"}
_DISPUTED = "ne_disputed_10m"
_OCCUPIED_PREFIX = "deepstate_"

#: Natural Earth ADM0_A3 → (ISO alpha-2, alpha-3) for units whose ISO_A2_EH is -99.
_NO_ISO_CODE = {
    "CYN": ("CY", "CYP"),  # Northern Cyprus: ISO 3166 files it under Cyprus
    "SOL": ("SO", "SOM"),  # Somaliland: under Somalia
    "KOS": ("XK", "XKX"),  # Kosovo: user-assigned code used by the EU and IMF
    "USG": ("CU", "CUB"),  # Guantanamo Bay naval base: under Cuba
    "ESB": ("GB", "GBR"),  # Dhekelia Sovereign Base Area: British, not in ISO 3166
    "WSB": ("GB", "GBR"),  # Akrotiri Sovereign Base Area: British, not in ISO 3166
}
#: Name columns matched by :func:`get_region` (``NAME_ALT`` may hold several names split by ``|``).
_NAME_FIELDS = ("NAME", "ADMIN", "NAME_LONG", "NAME_EN", "FORMAL_EN", "NAME_SORT", "GEOUNIT", "SUBUNIT", "BRK_NAME")

#: Geodesic areas segmentize edges to this length [deg] first: polygon edges are straight in lon/lat
#: (RFC 7946), and a long edge along a parallel is not a geodesic.
_AREA_SEGMENT_DEG = 0.25
_GEOD = pyproj.Geod(ellps="WGS84")
#: Largest world cell set :meth:`Region.cells` builds (res 7 is 98,825,162 cells, 0.8 GB).
_MAX_WORLD_CELLS = 100_000_000
#: Largest cell set :meth:`Region.cells` builds for a region without being told to go ahead (``--yes``).
MAX_CELLS = 10_000_000
#: Peak memory per cell while h3 builds a cell set (measured: Taiwan at res 12 reached 7.8 GB, ~67 B/cell).
_BYTES_PER_CELL = 67


# --------------------------------------------------------------------------- the Region


@dataclass(frozen=True, eq=False)
class Region:
    """A named area on the WGS-84 ellipsoid.

    Attributes
    ----------
    name
        Human name ("Taiwan", "Crimea", "Russian-occupied Ukraine on 2026-08-22").
    code
        ISO 3166 alpha-2 code for countries; Natural Earth ``BRK_A3`` for disputed
        areas; ``"UA-OCC"`` for occupied Ukraine; the file stem for custom regions.
    kind
        One of :data:`KINDS`.
    geometry
        Shapely Polygon/MultiPolygon in lon/lat degrees, every part inside
        [-180, 180] (cut at the antimeridian).
    source
        Dataset name (:mod:`skyfence.data`) or file path it was read from.
    pov
        Point of view of the border (``"default"``, ``"DEU"``) or None when the
        source has none.
    note
        Administration and claims (Natural Earth ``NOTE_BRK``) or provenance.
    """

    name: str
    code: str
    kind: str
    geometry: Polygon | MultiPolygon = field(repr=False)
    source: str
    pov: str | None = None
    note: str = ""

    def estimated_cells(self, res: int) -> int:
        """About how many H3 cells the region has at ``res`` (geodesic area / mean cell area), without making them."""
        res = _cells.validate_resolution(res)
        if self.kind == "world":
            return 2 + 120 * 7**res
        return math.ceil(self.area_km2() / h3n.average_hexagon_area(res, unit="km^2"))

    def cells(self, res: int, containment: str = "center", *, max_cells: int | None = MAX_CELLS) -> np.ndarray:
        """H3 cells of the region at ``res``: sorted unique ``uint64`` (see :func:`.cells.polygon_to_cells`).

        Work that explodes is refused up front: when the region has more than ``max_cells`` cells at ``res``
        (estimated from its area; ``None``: no limit), an :class:`InputError` names the estimate and the memory it
        would take (Taiwan at res 12 is ~117 million cells, ~8 GB).
        """
        res = _cells.validate_resolution(res)
        if max_cells is not None and self.kind != "world":
            estimate = self.estimated_cells(res)
            if estimate > max_cells:
                raise InputError(
                    f"{self.name} has about {estimate:,} H3 cells at res {res}, more than the limit of {max_cells:,} "
                    f"(about {estimate * _BYTES_PER_CELL / 1e9:.1f} GB of memory and minutes of work)",
                    field="--res",
                    hint="use a coarser --res (each step down is 7x fewer cells), or pass --yes to go ahead",
                )
        if self.kind == "world":
            _cells._validate_containment(containment)
            count = 2 + 120 * 7**res
            if count > _MAX_WORLD_CELLS:
                raise InputError(
                    f"the world has {count:,} cells at res {res}", field="res", hint="use res 7 or coarser"
                )
            return np.sort(np.asarray(h3n.uncompact_cells(h3n.get_res0_cells(), res), dtype=np.uint64))
        return _cells.polygon_to_cells(self.geometry, res, containment=containment)

    def area_km2(self) -> float:
        """Geodesic area [km²] on the WGS-84 ellipsoid (Karney 2013, via ``pyproj.Geod.geometry_area_perimeter``)."""
        return geodesic_area_km2(self.geometry)

    def contains(self, lat_deg, lon_deg) -> np.ndarray:
        """Whether each point (``lat_deg``, ``lon_deg`` [deg], broadcast) lies in the region; NaN gives False.

        Points on the border count as inside (``shapely.intersects_xy``), so a
        point on a denied polygon's edge is denied.  Longitudes in any range are
        wrapped into [-180, 180).
        """
        lat, lon = _lat_lon(lat_deg, lon_deg)
        if self.kind == "world":
            return np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
        with GEOS_LOCK:  # a Region may be shared between threads (skyfence.earth.shared)
            shapely.prepare(self.geometry)
            return shapely.intersects_xy(self.geometry, lon, lat)


def geodesic_area_km2(geometry: BaseGeometry) -> float:
    """Geodesic area [km²] of a lon/lat (Multi)Polygon on WGS-84, edges read as straight in lon/lat.

    The polygon is first cut at the antimeridian; edges are segmentized to
    0.25° so that an edge along a parallel stays one (a geodesic between its
    ends would bulge poleward); parts wider than 90° (polar caps drawn in
    plate carrée) are measured in 90° strips.  Areas by Karney's algorithm
    (pyproj.Geod).
    """
    total = 0.0
    for part in _cells._polygonal_parts(_cells.split_antimeridian(geometry)):
        minx, _, maxx, _ = part.bounds
        if maxx - minx > 90.0:  # a cap drawn in plate carrée (Antarctica, the world): area it in 90° strips
            strips = [box(x, -90.0, x + 90.0, 90.0) for x in np.arange(-180.0, 180.0, 90.0)]
            pieces = [p for strip in strips for p in _cells._polygonal_parts(shapely.intersection(part, strip))]
        else:
            pieces = [part]
        for piece in pieces:
            piece = shapely.segmentize(shapely.geometry.polygon.orient(piece, 1.0), _AREA_SEGMENT_DEG)
            area, _ = _GEOD.geometry_area_perimeter(piece)
            total += abs(area)
    return total / 1e6


def _lat_lon(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float))
    lon = np.where(np.isfinite(lon), (lon + 180.0) % 360.0 - 180.0, lon)
    return lat, lon


def _dataset_path(name: str) -> Path:
    from skyfence import data

    return data.path(name)


# --------------------------------------------------------------------------- countries


@dataclass(frozen=True, eq=False)
class _Layer:
    dataset: str
    pov: str
    table: pd.DataFrame
    names: dict[str, list[int]]  # lower-case name → row numbers
    tree: shapely.STRtree
    order: np.ndarray  # row numbers from the largest polygon to the smallest


def _resolve_layer(pov: str, scale: str | None) -> tuple[str, str, str]:
    pov_key = {p.lower(): p for p in POVS}.get(str(pov).lower())
    if pov_key is None:
        raise InputError(f"unknown point of view {pov!r}", field="pov", hint="use one of " + ", ".join(POVS))
    scale = _DEFAULT_SCALE[pov_key] if scale is None else str(scale).lower()
    dataset = _COUNTRY_LAYERS.get((pov_key, scale))
    if dataset is None:
        offered = ", ".join(f"pov={p} scale={s}" for p, s in _COUNTRY_LAYERS)
        raise InputError(f"no country layer for pov={pov_key} at scale {scale!r}", field="scale", hint=offered)
    return pov_key, scale, dataset


def _codes(record: dict) -> tuple[str, str]:
    iso_a2 = record.get("ISO_A2_EH") or "-99"
    iso_a3 = record.get("ISO_A3_EH") or "-99"
    fallback = _NO_ISO_CODE.get(record["ADM0_A3"], ("", ""))
    return (
        iso_a2 if iso_a2 != "-99" else fallback[0],
        iso_a3 if iso_a3 != "-99" else fallback[1],
    )


def _shapefile_geometry(shp) -> BaseGeometry:
    """A pyshp polygon record → shapely, vectorised (pyshp's ``__geo_interface__`` is pure Python and slow).

    ESRI shapefiles draw outer rings clockwise and holes counter-clockwise
    (ESRI Shapefile Technical Description, 1998, p. 8); a hole belongs to the
    smallest outer ring containing its first vertex.
    """
    if not shp.points:
        return Polygon()
    points = np.asarray(shp.points, dtype=float)[:, :2]
    starts = np.asarray(shp.parts, dtype=np.intp)
    ends = np.append(starts[1:], len(points))
    x, y = points[:, 0], points[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    cross[ends[:-1] - 1] = 0.0  # pairs that straddle two rings
    signed_area = 0.5 * np.add.reduceat(np.append(cross, 0.0), starts)
    rings = [points[a:b] for a, b in zip(starts, ends, strict=True)]
    outer = [r for r, area in zip(rings, signed_area, strict=True) if area <= 0.0]
    holes = [r for r, area in zip(rings, signed_area, strict=True) if area > 0.0]
    if not outer:  # all counter-clockwise: a writer that ignored the convention
        outer, holes = holes, []
    owned: list[list[np.ndarray]] = [[] for _ in outer]
    if len(outer) == 1:
        owned[0] = holes
    elif holes:
        shells = np.array([Polygon(r) for r in outer], dtype=object)
        shell_area = shapely.area(shells)
        for hole in holes:
            inside = np.flatnonzero(shapely.contains_xy(shells, hole[0, 0], hole[0, 1]))
            if inside.size:
                owned[inside[np.argmin(shell_area[inside])]].append(hole)
    polygons = [Polygon(shell, own) for shell, own in zip(outer, owned, strict=True)]
    return polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)


@input_cache(maxsize=8)
def _layer(dataset: str, pov: str) -> _Layer:
    import shapefile

    file = _dataset_path(dataset)
    rows = []
    names: dict[str, list[int]] = {}
    try:
        with shapefile.Reader(str(file)) as reader:
            for number, item in enumerate(reader.iterShapeRecords()):
                record = item.record.as_dict()
                geometry = _cells.split_antimeridian(_shapefile_geometry(item.shape))
                iso_a2, iso_a3 = _codes(record)
                rows.append(
                    {
                        "iso_a2": iso_a2,
                        "iso_a3": iso_a3,
                        "adm0_a3": record["ADM0_A3"],
                        "name": record["NAME"],
                        "name_long": record["NAME_LONG"],
                        "sovereign": record["SOVEREIGNT"],
                        "type": record["TYPE"],
                        "homepart": record.get("HOMEPART") == 1,
                        "pop_est": float(record.get("POP_EST") or 0.0),
                        "geometry": geometry,
                    }
                )
                candidates = {str(record.get(f) or "") for f in _NAME_FIELDS}
                candidates.update(str(record.get("NAME_ALT") or "").split("|"))
                for candidate in candidates:
                    key = candidate.strip().lower()
                    if key:
                        names.setdefault(key, []).append(number)
    except shapefile.ShapefileException as error:
        raise RegionError(f"cannot read Natural Earth layer: {error}", source=str(file)) from None
    table = pd.DataFrame(rows)
    geometries = table["geometry"].to_numpy()
    # prepared once and then shared by every thread of the process (lookup_country, every compiled policy's country
    # parts): a predicate on them holds GEOS_LOCK (skyfence.earth.shared)
    shapely.prepare(geometries)
    order = np.argsort(-shapely.area(geometries), kind="stable")
    return _Layer(dataset, pov, table, names, shapely.STRtree(geometries), order)


def _country_layer(pov: str, scale: str | None) -> _Layer:
    pov_key, _, dataset = _resolve_layer(pov, scale)
    return _layer(dataset, pov_key)


def countries(pov: str = "default", scale: str | None = None) -> pd.DataFrame:
    """Natural Earth admin-0 units as a table, one row per unit.

    Columns: ``iso_a2``, ``iso_a3`` (ISO 3166; "" where none, see the module
    notes), ``adm0_a3`` (Natural Earth's own code), ``name``, ``name_long``,
    ``sovereign``, ``type``, ``homepart`` (the unit is its country's main part), ``pop_est`` (Natural Earth's
    population estimate, ``POP_EST``) and ``geometry``
    (shapely, lon/lat, cut at ±180°).
    Several rows may share a code (Australia and its Indian Ocean Territories
    are both AU).

    Parameters
    ----------
    pov
        ``"default"`` (Natural Earth's de-facto view: Crimea in Russia) or
        ``"DEU"`` (German view: Crimea in Ukraine).
    scale
        ``"50m"`` or ``"110m"`` for the default view; ``"10m"`` for DEU, the only
        scale Natural Earth publishes points of view at.  None picks those defaults.

    Layers are read once per process (``functools.lru_cache``); the table
    returned is a copy.
    """
    return _country_layer(pov, scale).table.copy()


def lookup_country(lat_deg, lon_deg, *, pov: str = "default", scale: str | None = None) -> np.ndarray:
    """ISO alpha-2 code of the country under each point ("" at sea, for NaN and indeterminate areas).

    Vectorised: an STR-tree finds candidate countries by bounding box, then
    one prepared ``shapely.intersects_xy`` call per candidate country tests its
    points (no Python loop over points).  Points on a border belong to the
    smaller of the two units.  Returns a ``<U2`` array shaped like the inputs.
    """
    layer = _country_layer(pov, scale)
    lat, lon = _lat_lon(lat_deg, lon_deg)
    flat_lat, flat_lon = lat.ravel(), lon.ravel()
    valid = np.flatnonzero(np.isfinite(flat_lat) & np.isfinite(flat_lon) & (np.abs(flat_lat) <= 90.0))
    owner = np.full(flat_lat.shape, -1, dtype=np.intp)
    if valid.size:
        points = shapely.points(flat_lon[valid], flat_lat[valid])
        point_index, row_index = layer.tree.query(points)
        rank = np.empty_like(layer.order)
        rank[layer.order] = np.arange(len(layer.order))
        by_row = np.lexsort((point_index, rank[row_index]))
        point_index, row_index = point_index[by_row], row_index[by_row]
        bounds = np.flatnonzero(np.diff(row_index)) + 1
        geometries = layer.table["geometry"].to_numpy()
        for rows, pts in zip(np.split(row_index, bounds), np.split(point_index, bounds), strict=True):
            if not len(rows):
                continue
            target = valid[pts]
            with GEOS_LOCK:  # the layer's prepared geometries are shared process-wide; one country at a time
                inside = shapely.intersects_xy(geometries[rows[0]], flat_lon[target], flat_lat[target])
            owner[target[inside]] = rows[0]
    codes = np.append(layer.table["iso_a2"].to_numpy(dtype="<U2"), "")
    return codes[owner].reshape(lat.shape)


# --------------------------------------------------------------------------- disputed & occupied


@input_cache(maxsize=1)
def _disputed() -> pd.DataFrame:
    source = _DISPUTED
    features = _read_geojson_features(_dataset_path(source))
    rows = []
    for index, (feature, geometry) in enumerate(features):
        props = feature.get("properties") or {}
        rows.append(
            {
                "name": str(props.get("BRK_NAME") or f"feature {index}"),
                "code": str(props.get("BRK_A3") or ""),
                "note": str(props.get("NOTE_BRK") or ""),
                "admin": str(props.get("ADMIN") or ""),
                "sovereign": str(props.get("SOVEREIGNT") or ""),
                "geometry": geometry,
            }
        )
    table = pd.DataFrame(rows)
    shapely.prepare(table["geometry"].to_numpy())  # shared process-wide: predicates hold GEOS_LOCK
    return table


def disputed_areas() -> pd.DataFrame:
    """Natural Earth 1:10m breakaway and disputed areas as a table.

    Columns: ``name`` (``BRK_NAME``), ``code`` (``BRK_A3``), ``note``, ``admin``, ``sovereign``, ``geometry``.

    ``note`` says who administers and who claims the area, e.g. Crimea:
    "Admin. by Russia; Claimed by Ukraine".  A name may have several rows (W. Sahara).
    """
    return _disputed().copy()


def occupied_dates(country: str = "ua") -> list[date]:
    """Dates with an occupied-territory polygon in the dataset registry (only ``"ua"``: DeepStateMap)."""
    if country.lower() != "ua":
        raise RegionError(f"no occupied-territory data for {country!r}", field="occupied", hint="only 'ua' exists")
    from skyfence import data

    found = []
    for name in data.REGISTRY:
        match = re.fullmatch(_OCCUPIED_PREFIX + r"(\d{4})(\d{2})(\d{2})", name)
        if match:
            found.append(date(*map(int, match.groups())))
    return sorted(found)


def _occupied_region(spec: str) -> Region:
    parts = spec.split(":")
    if len(parts) != 3:
        raise RegionError(f"bad occupied-area spec {spec!r}", hint="write occupied:ua:YYYY-MM-DD or occupied:ua:latest")
    _, country, when = parts
    available = occupied_dates(country)
    listing = ", ".join(d.isoformat() for d in available)
    if when.strip().lower() == "latest":
        day = available[-1]
    else:
        try:
            day = date.fromisoformat(when.strip())
        except ValueError:
            raise RegionError(f"bad date {when!r} in {spec!r}", hint=f"use YYYY-MM-DD; available: {listing}") from None
        if day not in available:
            raise RegionError(f"no occupied-area polygon for {day.isoformat()}", hint=f"available dates: {listing}")
    dataset = f"{_OCCUPIED_PREFIX}{day:%Y%m%d}"
    geometry = _union(g for _, g in _read_geojson_features(_dataset_path(dataset)))
    return Region(
        name=f"Russian-occupied Ukraine on {day.isoformat()}",
        code="UA-OCC",
        kind="occupied",
        geometry=geometry,
        source=dataset,
        note="DeepStateMap (deepstatemap.live) via github.com/cyterat/deepstate-map-data, GPL-3.0; includes Crimea",
    )


def _suggest_disputed(wanted: str, names: list[str]) -> str:
    """The closest disputed areas, else the list of them (never ISO codes: the user asked for a disputed area)."""
    close = difflib.get_close_matches(wanted, [n.lower() for n in names], n=3, cutoff=0.6)
    by_lower = {n.lower(): n for n in names}
    if close:
        return "did you mean " + ", ".join(f"disputed:{by_lower[c]}" for c in close) + "?"
    shown = sorted(names)
    more = f", … ({len(shown)} in all, see disputed_areas())" if len(shown) > 15 else ""
    return "known disputed areas: " + ", ".join(f"disputed:{n}" for n in shown[:15]) + more


def _disputed_region(name: str) -> Region:
    table = _disputed()
    wanted = name.strip().lower()
    rows = table[table["name"].str.lower() == wanted]
    if rows.empty:
        raise RegionError(
            f"unknown disputed area {name!r}",
            hint=_suggest_disputed(wanted, list(dict.fromkeys(table["name"]))),
        )
    first = rows.iloc[0]
    return Region(
        name=str(first["name"]),
        code=str(first["code"]),
        kind="disputed",
        geometry=_union(rows["geometry"]),
        source=_DISPUTED,
        note="; ".join(dict.fromkeys(rows["note"])),
    )


# --------------------------------------------------------------------------- GeoJSON files


def _union(geometries) -> Polygon | MultiPolygon:
    parts = [p for g in geometries for p in _cells._polygonal_parts(g)]
    if len(parts) == 1:
        return parts[0]
    merged = shapely.multipolygons(parts)
    if not merged.is_valid:  # overlapping features: dissolve them
        merged = shapely.union_all(parts)
    return merged


def _load_geojson(file: Path) -> dict:
    source = str(file)
    note_file(file, kind="region")  # a dataset's file is named by the dataset instead (the runner drops it)
    try:
        with open(file, encoding="utf-8") as stream:
            document = json.load(stream)
    except json.JSONDecodeError as error:
        raise RegionError(f"not valid JSON: {error.msg}", source=source, line=error.lineno) from None
    except UnicodeDecodeError:
        raise RegionError("not a UTF-8 text file", source=source, hint="GeoJSON must be UTF-8 (RFC 7946)") from None
    if not isinstance(document, dict) or "type" not in document:
        raise RegionError("not a GeoJSON object (no 'type')", source=source)
    return document


def _read_geojson_features(
    file: Path, document: dict | None = None, *, warn: bool = False
) -> list[tuple[dict, BaseGeometry]]:
    """(feature, normalised polygonal geometry) per polygonal feature of a GeoJSON file."""
    source = str(file)
    if document is None:
        document = _load_geojson(file)
    kind = document["type"]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise RegionError("FeatureCollection without a 'features' list", source=source, field="features")
        entries = [(f"features[{i}]", f) for i, f in enumerate(features)]
    elif kind == "Feature":
        entries = [("feature", document)]
    else:
        entries = [("geometry", {"type": "Feature", "properties": {}, "geometry": document})]
    out = []
    for where, feature in entries:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise RegionError("not a GeoJSON Feature", source=source, field=where)
        geometry = _feature_geometry(feature.get("geometry"), source, where, warn=warn)
        if geometry is not None:
            out.append((feature, geometry))
    if not out:
        raise RegionError("no Polygon or MultiPolygon geometry found", source=source)
    return out


def _feature_geometry(obj, source: str, where: str, *, warn: bool) -> Polygon | MultiPolygon | None:
    if obj is None:  # RFC 7946 §3.2: an unlocated feature; nothing to add
        return None
    if not isinstance(obj, dict):
        raise RegionError("geometry is not a JSON object", source=source, field=f"{where}.geometry")
    kind = obj.get("type")
    if kind not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        raise RegionError(
            f"geometry is a {kind}; a region needs Polygon or MultiPolygon", source=source, field=f"{where}.geometry"
        )
    try:
        raw = shape(obj)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException) as error:
        raise RegionError(f"malformed {kind}: {error}", source=source, field=f"{where}.geometry") from None
    coordinates = shapely.get_coordinates(raw)
    if not np.all(np.isfinite(coordinates)):
        raise RegionError("coordinates are not all finite numbers", source=source, field=f"{where}.geometry")
    if coordinates.size and np.abs(coordinates[:, 1]).max() > 90.0:
        raise RegionError(
            "latitude outside [-90, 90]",
            source=source,
            field=f"{where}.geometry",
            hint="GeoJSON positions are [longitude, latitude]; are they swapped?",
        )
    geometry, repaired = _cells._split_antimeridian(raw)
    if repaired and warn:
        warnings.warn(
            f"{source}: {where}: invalid polygon ({shapely.is_valid_reason(raw)}) repaired with shapely.make_valid",
            RegionWarning,
            stacklevel=4,
        )
    if geometry.is_empty or geometry.area == 0.0:
        raise RegionError("polygon has no area", source=source, field=f"{where}.geometry")
    return geometry


def region_from_geojson(file: str | os.PathLike[str], *, name: str | None = None) -> Region:
    """A custom :class:`Region`: the union of the polygons of a GeoJSON file.

    Accepts a FeatureCollection, a Feature or a bare geometry; features
    without geometry are skipped.  Rings crossing the antimeridian are cut
    there, rings around a pole are closed through it, and an invalid
    polygon is repaired with ``shapely.make_valid`` and a :class:`RegionWarning`.
    Anything else (points, lines, bad coordinates, latitudes beyond ±90°)
    raises :class:`~skyfence.errors.RegionError` naming the file and the
    feature (``features[3].geometry``).

    The name is ``name``, else the collection's ``name``, else the first
    feature's ``name`` property, else the file stem.
    """
    file = Path(file)
    if not file.is_file():
        raise RegionError("no such file", source=str(file), hint="give a GeoJSON file, an ISO code or a country name")
    document = _load_geojson(file)
    features = _read_geojson_features(file, document, warn=True)
    properties = features[0][0].get("properties") or {}
    title = name or document.get("name") or properties.get("name") or properties.get("NAME") or file.stem
    return Region(
        name=str(title),
        code=file.stem,
        kind="custom",
        geometry=_union(g for _, g in features),
        source=str(file),
    )


def check_country_codes(codes, *, field: str, extra: frozenset[str] = frozenset()) -> list[str]:
    """ISO 3166 alpha-2 codes, stripped and upper-cased; a code no country has is an :class:`InputError`.

    The hint turns an alpha-3 code or a country name into its alpha-2 code (``TWN`` -> ``did you mean TW?``) or
    names the closest codes.  ``extra`` holds codes accepted beyond Natural Earth's (a ground file's own).
    """
    table = _country_layer("default", None).table
    known = {code for code in table["iso_a2"] if code} | set(extra)
    out = []
    for raw in [codes] if isinstance(codes, str) else codes:
        code = str(raw).strip().upper()
        if not code:
            continue
        if code not in known:
            rows = table[(table["iso_a3"] == code) | (table["adm0_a3"] == code)]
            named = [c for c in rows["iso_a2"] if c]
            if not named:
                numbers = _country_layer("default", None).names.get(code.lower()) or []
                named = [c for c in table.iloc[sorted(set(numbers))]["iso_a2"] if c]
            close = named[:1] or difflib.get_close_matches(code, sorted(known), n=3)
            raise InputError(
                f"unknown country code {str(raw)!r}",
                field=field,
                hint=f"did you mean {', '.join(close)}?" if close else "use an ISO 3166 alpha-2 code such as TW or JP",
            )
        out.append(code)
    return out


# --------------------------------------------------------------------------- get_region


def _suggest(wanted: str, choices: dict[str, str], fallback: str) -> str:
    close = difflib.get_close_matches(wanted, list(choices), n=3, cutoff=0.6)
    if close:
        return "did you mean " + ", ".join(dict.fromkeys(choices[c] for c in close)) + "?"
    return f"use an ISO code (TW, UKR), a country name, world, {fallback} or a GeoJSON file"


def _country_region(rows: pd.DataFrame, layer: _Layer, code: str | None) -> Region:
    home = rows[rows["homepart"]]
    first = (home if not home.empty else rows).iloc[0]
    return Region(
        name=str(first["name"]),
        code=code or str(first["iso_a2"]) or str(first["adm0_a3"]),
        kind="country",
        geometry=_union(rows["geometry"]),
        source=layer.dataset,
        pov=layer.pov,
    )


def _looks_like_path(text: str) -> bool:
    return text.lower().endswith((".json", ".geojson")) or "/" in text or os.sep in text


def names_a_file(spec: str) -> bool:
    """Whether :func:`get_region` reads ``spec`` as a GeoJSON path (rather than a name, code or prefix form)."""
    lowered = spec.strip().lower()
    if lowered == "world" or lowered.startswith(("disputed:", "occupied:")):
        return False
    return _looks_like_path(spec.strip())


def get_region(
    spec: str | os.PathLike[str] | Region, *, pov: str = "default", scale: str | None = None, files: bool = True
) -> Region:
    """The :class:`Region` named by ``spec`` (see the module table).

    ``pov`` and ``scale`` choose the country layer (see :func:`countries`);
    they do not affect disputed, occupied or custom regions.  A code selects
    every unit with that code (AU includes the Indian Ocean Territories); a
    name selects the unit(s) carrying it.

    ``files=False`` never touches the file system: a path-like ``spec`` is an unknown region, as is a name that
    matches no dataset (used for policies uploaded to the service, see :mod:`skyfence.policy.confine`).

    Raises
    ------
    RegionError
        Unknown name (with the closest matches), unknown date of an occupied
        area (with the available dates), unreadable or invalid GeoJSON.
    """
    if isinstance(spec, Region):
        return spec
    if isinstance(spec, os.PathLike) and files:
        return region_from_geojson(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise RegionError(f"empty or non-text region {spec!r}", hint="e.g. TW, Ukraine, disputed:Crimea, area.geojson")
    text = spec.strip()
    lowered = text.lower()
    if lowered == "world":
        return Region("World", "WORLD", "world", box(-180.0, -90.0, 180.0, 90.0), source="", note="the whole Earth")
    if lowered.startswith("disputed:"):
        return _disputed_region(text.split(":", 1)[1])
    if lowered.startswith("occupied:"):
        return _occupied_region(text)
    if _looks_like_path(text):
        if not files:
            raise RegionError(f"unknown region {text!r}", hint="name a country, disputed:NAME or occupied:ua:DATE")
        return region_from_geojson(text)
    layer = _country_layer(pov, scale)
    table = layer.table
    if len(text) == 2 and text.isalpha():
        rows = table[table["iso_a2"] == text.upper()]
        if not rows.empty:
            return _country_region(rows, layer, text.upper())
    if len(text) == 3 and text.isalpha():
        rows = table[(table["iso_a3"] == text.upper()) | (table["adm0_a3"] == text.upper())]
        if not rows.empty:
            codes = [c for c in rows["iso_a2"] if c]
            return _country_region(rows, layer, codes[0] if codes else None)
    numbers = layer.names.get(lowered)
    if numbers:
        return _country_region(table.iloc[sorted(set(numbers))], layer, None)
    if files and Path(text).is_file():
        return region_from_geojson(text)
    choices = {key: table.iloc[rows[0]]["name"] for key, rows in layer.names.items()}
    choices.update({code.lower(): code for code in table["iso_a2"] if code})
    raise RegionError(f"unknown region {text!r}", hint=_suggest(lowered, choices, "disputed:NAME, occupied:ua:DATE"))


# ---------------------------------------------------------------------------------------------------------------
# Summaries (``skyfence region info`` and ``skyfence region lookup``)
# ---------------------------------------------------------------------------------------------------------------


def region_info(
    spec: str,
    *,
    res: int = 5,
    pov: str = "default",
    scale: str | None = None,
    containment: str = "center",
    yes: bool = False,
) -> dict[str, Any]:
    """Name, code, kind, source, geodesic area [km²] and H3 cells at ``res`` of the region ``spec``.

    Above :data:`MAX_CELLS` estimated cells the call is refused unless ``yes``.
    """
    res = _cells.validate_resolution(res)
    region = get_region(spec, pov=pov, scale=scale)
    cells = region.cells(res, containment=containment, max_cells=None if yes else MAX_CELLS)
    cells_area = float(_cells.cell_area_km2(cells).sum()) if region.kind != "world" else region.area_km2()
    minx, miny, maxx, maxy = region.geometry.bounds
    return {
        "name": region.name,
        "code": region.code,
        "kind": region.kind,
        "source": region.source,
        "pov": region.pov,
        "note": region.note,
        "area_km2": round(region.area_km2(), 1),
        "bounds_deg": {"lon_min": minx, "lat_min": miny, "lon_max": maxx, "lat_max": maxy},
        "res": res,
        "containment": containment,
        "cells": len(cells),
        "cells_area_km2": round(cells_area, 1),
        "mean_cell_area_km2": round(float(h3n.average_hexagon_area(res, unit="km^2")), 4),
    }


def region_lookup(
    lat_deg: float, lon_deg: float, *, pov: str = "default", scale: str | None = None, occupied: str = "latest"
) -> dict[str, Any]:
    """Country (ISO alpha-2 and name), territorial sea, Natural Earth disputed areas and occupied-Ukraine status of
    one point.

    ``territorial_sea`` is None on land (and beyond every territorial sea), else the coastal state whose 12-nmi belt
    holds the point (:mod:`skyfence.earth.waters`): ``iso_a2`` ("" for an indeterminate unit's), ``name`` and
    ``basis`` (how it is approximated).
    """
    from skyfence.earth import waters as _waters

    code = str(lookup_country(lat_deg, lon_deg, pov=pov, scale=scale)[()])
    country_name = get_region(code, pov=pov, scale=scale).name if code else ""
    sea = None
    if not code:
        belts = _waters.territorial_seas(pov, scale)
        row = int(_waters.lookup_waters(lat_deg, lon_deg, pov=pov, scale=scale)[0])
        if row >= 0:
            entry = belts.table.iloc[row]
            sea = {"iso_a2": str(entry["code"]), "name": str(entry["name"]), "basis": belts.label}
    disputed = disputed_areas()
    wrapped_lon = (lon_deg + 180.0) % 360.0 - 180.0
    with GEOS_LOCK:  # the disputed areas' prepared geometries are shared process-wide
        hit = shapely.intersects_xy(disputed["geometry"].to_numpy(), wrapped_lon, lat_deg)
    areas = [{"name": row.name, "code": row.code, "note": row.note} for row in disputed[hit].itertuples(index=False)]
    occupied_region = get_region(f"occupied:ua:{occupied}")
    return {
        "lat_deg": lat_deg,
        "lon_deg": lon_deg,
        "pov": pov,
        "country": {"iso_a2": code, "name": country_name},
        "territorial_sea": sea,
        "disputed": areas,
        "occupied": {
            "region": occupied_region.name,
            "source": occupied_region.source,
            "inside": bool(occupied_region.contains(lat_deg, lon_deg)[()]),
        },
    }
