"""Territorial seas: the belt of sea within 12 nautical miles of each coastal state's coast, and geodesic buffers.

Under the UN Convention on the Law of the Sea (UNCLOS, 1982) a coastal state's sovereignty extends beyond its land
and internal waters to its **territorial sea** (Art. 2), whose breadth it may set up to **12 nautical miles**
measured from its baselines (Art. 3); the normal baseline is the low-water line along the coast (Art. 5).  Between
states with opposite or adjacent coasts, neither may extend its territorial sea beyond the **median line** every
point of which is equidistant from the nearest points on the two baselines, unless they agree otherwise (Art. 15).
Beyond the territorial sea lie the contiguous zone, the EEZ and the high seas, where ships of all states enjoy
freedom of navigation (Arts. 58, 87) and the coastal state does not license a ship's radio by sovereignty.

:func:`territorial_seas` approximates this from a Natural Earth admin-0 layer:

* **baseline** -- the edge of each admin-0 polygon, i.e. Natural Earth's generalised coast (1:50m: vertices a few
  km apart; 1:10m: a few hundred metres).  Straight baselines (Art. 7), bay closing lines (Art. 10) and internal
  waters are not modelled, except where the 12-nmi belt covers them (every port, roadstead and bay narrower than
  24 nmi is inside it); so the model's territorial sea ends *at most* where the real one does where a state draws
  straight baselines.  Land that the layer leaves out near a coast (the city of Anadyr is missing from the 1:50m
  polygons) falls in the belt.
* **belt** -- each unit's boundary, cut into tiles of at most 5° x 5°, buffered by 12 nmi = 22.224 km
  (1 nmi = 1,852 m exactly, International Hydrographic Conference 1929) in a local azimuthal-equidistant
  projection at each tile's centre (:func:`buffer_km`), projected back, cut at the antimeridian, unioned per ISO
  code and clipped off every unit's land.
* **overlaps** -- where two states' belts overlap, each point goes to the state whose coast is nearer (the
  Art. 15 median line), approximated by a Voronoi diagram of both coasts' vertices densified to 1 km, in a local
  azimuthal-equidistant projection: the median line is off by at most half the vertex spacing (500 m) plus the
  layer's own generalisation.  Points a hair from the line may still touch both belts; the engine then picks the
  smaller unit, as on a land border.
* **not modelled** -- Antarctica (``AQ``) gets no territorial sea: the Antarctic Treaty (1959), Art. IV, freezes
  territorial claims.  The Caspian Sea (15-nmi belts under its 2018 Convention) and lakes are treated like the
  sea: 12 nmi.  Units without an ISO code (Spratly Is., Scarborough Reef ...) get a belt with no code: it is
  not high seas either, and no state's rule applies there.

The belts of a layer are built once per machine (about a minute at 1:10m) and cached on disk under
``skyfence.data.cache_dir()/territorial_sea/`` keyed by the layer's sha256 and :data:`_VERSION`, then read once
per process (a fraction of a second) and prepared: predicates on them hold :data:`~skyfence.earth.shared.GEOS_LOCK`.

**Buffers** (:func:`buffer_km`) are computed in local azimuthal-equidistant projections (pyproj, WGS-84), one per
tile of at most 5° x 5° of the geometry, and unioned back (a buffer of a union is the union of the buffers).
Distances from a tile's centre are exact in its projection; across the tile the scale error is at most about
ρ²/(6R²) with ρ ≤ 400 km plus the buffer, i.e. < 0.1 % of the buffer for buffers up to a few hundred km.  Edges
are densified (0.05° before projecting, 2 km after buffering) so that straight lon/lat edges stay faithful.
Beware: a buffer that reaches a pole is closed through it by :func:`~skyfence.earth.cells.split_antimeridian`'s
rule (the pole nearer to the ring's mean latitude).

References
----------
United Nations (1982). *Convention on the Law of the Sea*, Arts. 2, 3, 5, 7, 10, 15, 58, 87.
The Antarctic Treaty (1959), Art. IV.
Snyder, J. P. (1987). *Map Projections -- A Working Manual*, USGS Professional Paper 1395, pp. 191-202
(azimuthal equidistant projection and its scale error).
Okabe, A., Boots, B., Sugihara, K. & Chiu, S. N. (2000). *Spatial Tessellations: Concepts and Applications of
Voronoi Diagrams*, 2nd ed., Wiley -- a Voronoi diagram of sample points approximates the equidistance line.
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from skyfence.earth import cells as _cells
from skyfence.earth.shared import GEOS_LOCK

__all__ = [
    "NMI_KM",
    "TERRITORIAL_SEA_NMI",
    "Waters",
    "buffer_km",
    "lookup_waters",
    "territorial_seas",
]

#: One international nautical mile [km] (International Hydrographic Conference, Monaco 1929).
NMI_KM = 1.852
#: Breadth of the territorial sea [nmi] (UNCLOS Art. 3: "not exceeding 12 nautical miles").
TERRITORIAL_SEA_NMI = 12.0
#: Codes that get no territorial sea (see the module notes).
_NO_SEA = frozenset({"AQ"})
#: Bump when the construction changes: the disk cache is keyed by it.
_VERSION = 1

_TILE_DEG = 5.0
_DENSIFY_DEG = 0.05
_DENSIFY_M = 2000.0
#: Coast vertex spacing for the median-line Voronoi diagram [m].
_MEDIAN_SPACING_M = 1000.0
#: Tolerance of the belt's simplification [deg] (~50 m) before the land is cut out of it.
_SIMPLIFY_DEG = 0.0005
#: Douglas-Peucker tolerance of the coast before it is buffered [m].
_SIMPLIFY_M = 100.0
_QUAD_SEGS = 8  # 22 km circle drawn with 32 segments: at most 107 m inside the true circle


# --------------------------------------------------------------------------- geodesic buffer


_GEOD = pyproj.Geod(ellps="WGS84")


class _Aeqd:
    """The azimuthal-equidistant projection centred on (``lon_deg``, ``lat_deg``), on the WGS-84 ellipsoid.

    x, y [m] are the geodesic distance from the centre times the sine and cosine of the geodesic's azimuth there
    (Snyder 1987, p. 195; geodesics by Karney's algorithm through ``pyproj.Geod``), the same map as PROJ's
    ``+proj=aeqd`` on the ellipsoid but without building a PROJ transformer per centre (6 ms each).
    """

    def __init__(self, lon_deg: float, lat_deg: float) -> None:
        self.lon_deg, self.lat_deg = float(lon_deg), float(lat_deg)

    def forward(self, xy: np.ndarray) -> np.ndarray:
        n = len(xy)
        azimuth, _, distance = _GEOD.inv(np.full(n, self.lon_deg), np.full(n, self.lat_deg), xy[:, 0], xy[:, 1])
        angle = np.radians(azimuth)
        return np.column_stack([distance * np.sin(angle), distance * np.cos(angle)])

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        n = len(xy)
        azimuth = np.degrees(np.arctan2(xy[:, 0], xy[:, 1]))
        lon, lat, _ = _GEOD.fwd(
            np.full(n, self.lon_deg), np.full(n, self.lat_deg), azimuth, np.hypot(xy[:, 0], xy[:, 1])
        )
        return np.column_stack([lon, lat])


def _tiles(geometry: BaseGeometry) -> list[BaseGeometry]:
    """Pieces of ``geometry`` (polygons or lines) each inside one 5° x 5° tile (or smaller than one)."""
    pieces: list[BaseGeometry] = []
    for part in shapely.get_parts(geometry):
        if part.is_empty:
            continue
        minx, miny, maxx, maxy = part.bounds
        if maxx - minx <= _TILE_DEG and maxy - miny <= _TILE_DEG:
            pieces.append(part)
            continue
        xs = np.arange(math.floor(minx / _TILE_DEG) * _TILE_DEG, maxx, _TILE_DEG)
        ys = np.arange(math.floor(miny / _TILE_DEG) * _TILE_DEG, maxy, _TILE_DEG)
        grid = shapely.box(*np.meshgrid(xs, ys), *np.meshgrid(xs + _TILE_DEG, ys + _TILE_DEG)).ravel()
        shapely.prepare(part)  # our own piece, no other thread sees it
        grid = grid[shapely.intersects(part, grid)]
        polygonal = isinstance(part, Polygon | MultiPolygon)
        for piece in shapely.intersection(part, grid):
            if polygonal:
                pieces.extend(_cells._polygonal_parts(piece))
            else:
                pieces.extend(p for p in shapely.get_parts(piece) if p.geom_type == "LineString" and not p.is_empty)
    return pieces


def buffer_km(
    geometry: BaseGeometry, km: float, *, quad_segs: int = 16, tolerance_m: float = 0.0
) -> Polygon | MultiPolygon:
    """``geometry`` (lon/lat polygons or lines) grown by ``km`` [km] on the WGS-84 ellipsoid (see the module notes).

    ``tolerance_m`` > 0 first simplifies each projected piece by that much (Douglas-Peucker): the buffer moves by
    at most as much and costs far less on a dense coast.
    """
    if km <= 0.0:
        return geometry
    out = []
    for piece in _tiles(geometry):
        centre = piece.centroid
        projection = _Aeqd(centre.x, centre.y)
        projected = shapely.transform(shapely.segmentize(piece, _DENSIFY_DEG), projection.forward)
        if tolerance_m > 0.0:
            projected = shapely.simplify(projected, tolerance_m)
        grown = shapely.segmentize(shapely.buffer(projected, km * 1000.0, quad_segs=quad_segs), _DENSIFY_M)
        out.extend(_cells._polygonal_parts(_cells.split_antimeridian(shapely.transform(grown, projection.inverse))))
    merged = shapely.union_all(out)
    parts = _cells._polygonal_parts(merged)
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


# --------------------------------------------------------------------------- territorial seas


def _coast_points(lines: BaseGeometry, projection: _Aeqd) -> np.ndarray:
    """Vertices of ``lines`` (lon/lat) projected and densified to :data:`_MEDIAN_SPACING_M`, as an (n, 2) array."""
    if lines.is_empty:
        return np.empty((0, 2))
    projected = shapely.transform(shapely.segmentize(lines, _DENSIFY_DEG), projection.forward)
    return shapely.get_coordinates(shapely.segmentize(projected, _MEDIAN_SPACING_M))


def _median_split(
    overlap: BaseGeometry, land_a: BaseGeometry, land_b: BaseGeometry
) -> tuple[BaseGeometry, BaseGeometry]:
    """The parts of ``overlap`` nearer to ``land_a``'s coast and nearer to ``land_b``'s (lon/lat), by Voronoi."""
    centre = overlap.representative_point()
    projection = _Aeqd(centre.x, centre.y)
    minx, miny, maxx, maxy = overlap.bounds
    # every point of the overlap is within 12 nmi of both coasts: their vertices within that of the overlap suffice
    reach_lat = (TERRITORIAL_SEA_NMI * NMI_KM + 5.0) / 111.0
    reach_lon = min(reach_lat / max(math.cos(math.radians(max(abs(miny), abs(maxy)))), 0.05), 60.0)
    window = shapely.box(minx - reach_lon, miny - reach_lat, maxx + reach_lon, maxy + reach_lat)
    a = _coast_points(shapely.intersection(shapely.boundary(land_a), window), projection)
    b = _coast_points(shapely.intersection(shapely.boundary(land_b), window), projection)
    if not len(a) or not len(b):
        return (overlap, Polygon()) if len(a) else (Polygon(), overlap)
    # vertices on a shared land border belong to both coasts: drop them (equidistant by definition)
    shared = {tuple(p) for p in np.round(a, 0)} & {tuple(p) for p in np.round(b, 0)}
    if shared:
        a = a[[tuple(p) not in shared for p in np.round(a, 0)]]
        b = b[[tuple(p) not in shared for p in np.round(b, 0)]]
        if not len(a) or not len(b):
            return (overlap, Polygon()) if len(a) else (Polygon(), overlap)
    points = np.concatenate([a, b])
    owner = np.concatenate([np.zeros(len(a), dtype=bool), np.ones(len(b), dtype=bool)])
    points, unique = np.unique(points, axis=0, return_index=True)
    owner = owner[unique]
    region = shapely.make_valid(shapely.transform(shapely.segmentize(overlap, _DENSIFY_DEG), projection.forward))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=shapely.envelope(region), ordered=True)
    )
    side_b = shapely.make_valid(shapely.coverage_union_all(cells[owner]))  # Voronoi cells tile the plane
    near_b = shapely.intersection(region, side_b)
    near_a = shapely.difference(region, side_b)
    back = []
    for piece in (near_a, near_b):
        piece = shapely.segmentize(piece, _DENSIFY_M)
        back.append(
            _cells.split_antimeridian(shapely.transform(piece, projection.inverse)) if not piece.is_empty else Polygon()
        )
    return back[0], back[1]


def _multi(parts: list[Polygon]) -> MultiPolygon:
    return MultiPolygon(parts) if parts else MultiPolygon()


def _build(table: pd.DataFrame) -> pd.DataFrame:
    """Territorial seas of a country table (``regions.countries``): one row per code (see the module notes)."""
    km = TERRITORIAL_SEA_NMI * NMI_KM
    land = table["geometry"].to_numpy()
    world_land = shapely.union_all(land)
    codes = list(dict.fromkeys(str(c) for c in table["iso_a2"]))
    rows = []
    for code in codes:
        if code in _NO_SEA:
            continue
        mine = table[table["iso_a2"] == code]
        if code:
            home = mine[mine["homepart"]]
            name = str((home if not home.empty else mine).iloc[0]["name"])
            units = [mine]
        else:  # indeterminate units (no ISO code) stay apart: each gets its own belt under its own name
            units = [mine.iloc[[k]] for k in range(len(mine))]
        for unit in units:
            label = name if code else str(unit.iloc[0]["name"])
            own = shapely.union_all(unit["geometry"].to_numpy())
            belt = buffer_km(own, km, quad_segs=_QUAD_SEGS, tolerance_m=_SIMPLIFY_M)
            # 50 m in lon/lat is well inside the 1:10m layer's own generalisation; the coast side is cut exactly below
            belt = shapely.simplify(belt, _SIMPLIFY_DEG, preserve_topology=True)
            belt = shapely.difference(belt, shapely.clip_by_rect(world_land, *belt.bounds))
            parts = _cells._polygonal_parts(belt)
            if parts:
                rows.append({"code": code, "name": label, "land": own, "geometry": _multi(parts)})
    seas = pd.DataFrame(rows)
    geometries = list(seas["geometry"])
    tree = shapely.STRtree(np.asarray(geometries, dtype=object))
    left, right = tree.query(np.asarray(geometries, dtype=object), predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        overlap = shapely.intersection(geometries[i], geometries[j])
        parts = _cells._polygonal_parts(overlap)
        if not parts:
            continue
        near_i, near_j = _median_split(_multi(parts), seas.at[i, "land"], seas.at[j, "land"])
        geometries[i] = shapely.difference(geometries[i], near_j) if not near_j.is_empty else geometries[i]
        geometries[j] = shapely.difference(geometries[j], near_i) if not near_i.is_empty else geometries[j]
    seas["geometry"] = [_multi(_cells._polygonal_parts(_cells.split_antimeridian(g))) for g in geometries]
    seas = seas[~shapely.is_empty(seas["geometry"].to_numpy())].drop(columns="land").reset_index(drop=True)
    return seas


def _cache_file(dataset: str) -> Path | None:
    from skyfence import data

    try:
        digest = data.REGISTRY[dataset].sha256
        root = data.cache_dir()
    except Exception:  # no registry entry or no usable cache folder: build in memory only
        return None
    if not digest:
        return None
    return root / "territorial_sea" / f"{dataset}-{digest[:16]}-v{_VERSION}.json"


def _read_cache(file: Path) -> pd.DataFrame | None:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        rows = [
            {"code": r["code"], "name": r["name"], "geometry": shapely.from_wkb(bytes.fromhex(r["wkb"]))}
            for r in document["seas"]
        ]
    except (OSError, ValueError, KeyError, TypeError, shapely.errors.GEOSException):
        return None  # absent or damaged: rebuild
    return pd.DataFrame(rows, columns=["code", "name", "geometry"])


def _write_cache(file: Path, seas: pd.DataFrame) -> None:
    document = {
        "what": "territorial seas (12 nmi) built by skyfence.earth.waters",
        "version": _VERSION,
        "seas": [
            {"code": r.code, "name": r.name, "wkb": shapely.to_wkb(r.geometry, hex=True)} for r in seas.itertuples()
        ],
    }
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=file.parent, prefix=f".{file.name}.", delete=False) as stream:
            json.dump(document, stream)
        os.replace(stream.name, file)  # atomic: readers see the old file or the whole new one
    except OSError:
        pass  # a read-only cache only costs the rebuild next time


@dataclass(frozen=True, eq=False)
class Waters:
    """The territorial seas of one country layer: a table (``code``, ``name``, ``geometry``) and its STR-tree."""

    dataset: str
    scale: str
    table: pd.DataFrame
    tree: shapely.STRtree

    @property
    def label(self) -> str:
        """How reasons name the approximation, e.g. ``12 nmi of the Natural Earth 1:50m coast``."""
        return f"{TERRITORIAL_SEA_NMI:g} nmi of the Natural Earth 1:{self.scale} coast"


@functools.lru_cache(maxsize=4)
def _waters(dataset: str, pov: str, scale: str) -> Waters:
    from skyfence.earth import regions

    file = _cache_file(dataset)
    seas = _read_cache(file) if file is not None and file.is_file() else None
    if seas is None:
        seas = _build(regions.countries(pov=pov, scale=scale))
        if file is not None:
            _write_cache(file, seas)
    geometries = seas["geometry"].to_numpy()
    shapely.prepare(geometries)  # shared process-wide: predicates hold GEOS_LOCK
    return Waters(dataset, scale, seas, shapely.STRtree(geometries))


def territorial_seas(pov: str = "default", scale: str | None = None) -> Waters:
    """The territorial seas (12 nmi, see the module notes) of the Natural Earth layer of ``pov`` and ``scale``."""
    from skyfence.earth import regions

    pov_key, scale_key, dataset = regions._resolve_layer(pov, scale)
    return _waters(dataset, pov_key, scale_key)


def lookup_waters(lat_deg, lon_deg, *, pov: str = "default", scale: str | None = None) -> np.ndarray:
    """Row of :func:`territorial_seas`' table whose belt holds each point (-1: none), for 1-d arrays of points.

    Where two belts touch (on the median line) the smaller one wins, as on a land border.
    """
    waters = territorial_seas(pov, scale)
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=float))
    lon = np.where(np.isfinite(lon), (lon + 180.0) % 360.0 - 180.0, lon)
    owner = np.full(lat.shape, -1, dtype=np.intp)
    valid = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0))
    if not valid.size:
        return owner
    geometries = waters.table["geometry"].to_numpy()
    area = shapely.area(geometries)
    point_index, row_index = waters.tree.query(shapely.points(lon[valid], lat[valid]))
    for k in np.argsort(-area[row_index], kind="stable"):  # larger first, so the smaller belt overwrites
        row, target = int(row_index[k]), valid[point_index[k]]
        with GEOS_LOCK:
            if shapely.intersects_xy(geometries[row], lon[target], lat[target]):
                owner[target] = row
    return owner
