"""H3 cells for regions: polygon → cells → polygons, safe across the antimeridian and at the poles.

Cells are H3 indexes as ``uint64`` numpy arrays (hex strings are accepted on
input and converted with :func:`h3.str_to_int`).  Names follow h3-py v4
(``polygon_to_cells``, ``cells_to_polygons``, ``cell_area``); angles are
degrees, areas km².

Polygons are read the way GeoJSON defines them: longitude/latitude on WGS-84
with edges that are *straight lines in longitude/latitude* (RFC 7946 §3.1.1),
which is also how h3 tests a cell centre against a polygon.  Two situations
need care before a polygon reaches h3, which assumes no edge spans more than
180° of longitude:

* A ring that **crosses the antimeridian** (an edge such as 179° → -179°, i.e.
  ``|Δlon| > 180°``).  The ring is unwrapped into continuous longitudes, cut
  at ±180° and the far piece shifted back, as RFC 7946 §3.1.9 asks writers to
  do.  Natural Earth already cuts Fiji, Chukotka and Kiribati at ±180°, so
  their parts pass through unchanged.
* A **polar cap**: either drawn the Natural Earth way (Antarctica runs along
  -180..180 at -90°, a plain rectangle-like shape in lon/lat that is kept as
  is), or as a ring that winds once around the pole (e.g. lat 80° at lon 0,
  90, 180, -90), which is closed through the pole nearer to its mean latitude.

Beware of these limitations: a ring that winds around a pole is assumed to
enclose the pole on the side of its mean latitude; a ring whose only jump
between ±180° is a seam edge (both ends on ±180° within 1e-7°) is read in
plate carrée, like Natural Earth.  h3's *cell* edges are great-circle arcs
while polygons (and :func:`cells_to_polygons`) use straight lon/lat edges;
the two differ by up to ~0.4 m at res 6, ~20 m at res 4 and ~1 km at res 2
near ±60° latitude (more toward the poles), which bounds how far ``overlap``
and ``full`` can be off.

References
----------
Butler, H. et al. (2016). *The GeoJSON Format*, RFC 7946, §3.1.1 and §3.1.9.
Uber Technologies (2024). *H3: a hexagonal hierarchical geospatial indexing
system*, v4 API, https://h3geo.org/docs/api/regions (``polygonToCells``,
containment modes ``center``/``full``/``overlap``/``bbox_overlap``).
"""

from __future__ import annotations

import math

import h3
import h3.api.numpy_int as h3n
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from skyfence.earth.shared import GEOS_LOCK
from skyfence.errors import InputError

__all__ = [
    "CONTAINMENTS",
    "cell_area_km2",
    "cell_centers",
    "cell_children",
    "cell_parents",
    "cells_to_polygons",
    "points_to_cells",
    "polygon_to_cells",
    "split_antimeridian",
    "validate_resolution",
]

#: Containment modes of :func:`polygon_to_cells` (h3 v4 names): a cell belongs to the polygon if its
#: ``center`` lies inside, it lies ``full``-y inside, it ``overlap``-s it, or its bounding box overlaps it.
CONTAINMENTS = ("center", "full", "overlap", "bbox_overlap")

#: Longest edge [deg] handed to h3 (well under its 180° limit) once a polygon is split at ±180°.
_MAX_EDGE_DEG = 10.0
#: Polygons with at least this many vertices are cut into tiles of this size [deg] before h3 sees them.
_TILE_MIN_VERTICES = 1000
_TILE_DEG = 5.0
#: Vertices this close [deg] to ±180° count as on the seam (Natural Earth has -179.99999999999994).
_SEAM_TOL_DEG = 1e-7
_KM_PER_DEG = 111.195  # great-circle km per degree on the 6371 km sphere h3 uses


# --------------------------------------------------------------------------- validation


def validate_resolution(res: int) -> int:
    """Return ``res`` as an ``int`` or raise :class:`~skyfence.errors.InputError` unless it is 0..15."""
    if isinstance(res, bool) or not isinstance(res, int | np.integer) or not 0 <= int(res) <= 15:
        raise InputError(
            f"H3 resolution must be an integer from 0 to 15, got {res!r}",
            field="res",
            hint="res 4 ≈ 1,770 km² cells, res 6 ≈ 36 km², res 8 ≈ 0.74 km²",
        )
    return int(res)


def _validate_containment(containment: str) -> str:
    if containment not in CONTAINMENTS:
        raise InputError(
            f"unknown containment {containment!r}",
            field="containment",
            hint="use one of " + ", ".join(CONTAINMENTS),
        )
    return containment


def _as_cells(cells) -> np.ndarray:
    """Cells as a 1-d ``uint64`` array; hex strings are converted."""
    array = np.asarray(cells)
    if array.dtype.kind in "UO" and array.size:
        try:
            array = np.fromiter((h3.str_to_int(str(c)) for c in array.ravel()), dtype=np.uint64, count=array.size)
        except (ValueError, TypeError) as error:
            raise InputError(f"not an H3 cell: {error}", field="cells") from None
    elif array.dtype.kind in "iu":
        array = array.astype(np.uint64, copy=False)
    elif array.size == 0:
        array = array.astype(np.uint64)
    else:
        raise InputError(f"H3 cells must be integers or hex strings, got dtype {array.dtype}", field="cells")
    return array.ravel()


def _checked(func, cells: np.ndarray) -> list:
    try:
        return [func(c) for c in cells.tolist()]
    except h3.H3BaseException as error:
        raise InputError(f"not a valid H3 cell ({type(error).__name__})", field="cells") from None


# --------------------------------------------------------------------------- antimeridian & poles


def _unwrap_ring(lonlat: np.ndarray) -> np.ndarray:
    """Closed ``(n, 2)`` lon/lat ring → same ring with continuous longitudes if it crosses ±180° or circles a pole.

    A ring is left as drawn (plate carrée) unless it has an edge with
    ``|Δlon| > 180°`` that is not a seam edge (both ends exactly on ±180°), or
    it winds around a pole without touching it.  A winding ring is closed
    through the pole on the side of its mean latitude.
    """
    lon = lonlat[:, 0]
    lat = lonlat[:, 1]
    d = np.diff(lon)
    on_seam = np.abs(np.abs(lon) - 180.0) < _SEAM_TOL_DEG
    seam = on_seam[:-1] & on_seam[1:]
    crossing = (np.abs(d) > 180.0) & ~seam
    wrapped = (d + 180.0) % 360.0 - 180.0
    winding = round(float(wrapped.sum()) / 360.0)
    touches_pole = bool(np.any(np.abs(lat) == 90.0))
    if not crossing.any() and (winding == 0 or touches_pole):
        return lonlat
    new_lon = lon[0] + np.concatenate(([0.0], np.cumsum(wrapped)))
    ring = np.column_stack((new_lon, lat))
    if winding != 0:
        mean_lat = float(np.mean(lat))
        pole = math.copysign(90.0, mean_lat if mean_lat != 0.0 else winding)
        ring = np.vstack((ring, [[new_lon[-1], pole], [new_lon[0], pole]], ring[:1]))
    return ring


def _shift_near(ring: np.ndarray, center_lon: float) -> np.ndarray:
    """Shift ``ring`` by a multiple of 360° so the middle of its longitude span is nearest ``center_lon``."""
    middle = 0.5 * (ring[:, 0].min() + ring[:, 0].max())
    k = round((middle - center_lon) / 360.0)
    if k == 0:
        return ring
    shifted = ring.copy()
    shifted[:, 0] -= 360.0 * k
    return shifted


def _polygonal_parts(geometry: BaseGeometry) -> list[Polygon]:
    """Non-empty polygons of ``geometry`` (drops points and lines that ``make_valid`` may leave)."""
    parts = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            if not part.is_empty:
                parts.append(part)
        elif isinstance(part, MultiPolygon) or part.geom_type == "GeometryCollection":
            parts.extend(_polygonal_parts(part))
    return parts


def _split_polygon(polygon: Polygon) -> tuple[list[Polygon], bool]:
    """One polygon → parts inside [-180, 180] and whether it needed ``make_valid``."""
    exterior_in = np.asarray(polygon.exterior.coords)[:, :2]
    holes_in = [np.asarray(r.coords)[:, :2] for r in polygon.interiors]
    exterior = _unwrap_ring(exterior_in)
    center = 0.5 * (exterior[:, 0].min() + exterior[:, 0].max())
    shift = 360.0 * math.floor((center + 180.0) / 360.0)
    if shift:
        exterior = exterior - [shift, 0.0]
        center -= shift
    holes = [_shift_near(_unwrap_ring(h), center) for h in holes_in]
    untouched = exterior is exterior_in and all(h is g for h, g in zip(holes, holes_in, strict=True))
    candidate = polygon if untouched else Polygon(exterior, holes)
    repaired = False
    if not candidate.is_valid:
        candidate = shapely.make_valid(candidate)
        repaired = True
    parts = _polygonal_parts(candidate)
    if not parts:
        return [], repaired
    minx, _, maxx, _ = shapely.total_bounds(parts)
    if -180.0 <= minx and maxx <= 180.0:
        return parts, repaired
    pieces: list[Polygon] = []
    for k in range(math.floor((minx + 180.0) / 360.0), math.floor((maxx + 180.0) / 360.0) + 1):
        frame = box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
        for part in parts:
            clipped = shapely.intersection(part, frame)
            if not clipped.is_empty:
                pieces.extend(_polygonal_parts(shapely.transform(clipped, lambda xy, k=k: xy - [360.0 * k, 0.0])))
    # pieces of a ring spanning a full turn (a polar cell) meet along a meridian: merge them
    return _polygonal_parts(shapely.union_all(pieces)), repaired


def _split_antimeridian(geometry: BaseGeometry) -> tuple[Polygon | MultiPolygon, int]:
    """:func:`split_antimeridian` plus the number of polygons that needed ``make_valid``."""
    if geometry is None or geometry.is_empty:
        return MultiPolygon(), 0
    if isinstance(geometry, Polygon | MultiPolygon):
        lon = shapely.get_coordinates(geometry)[:, 0]
        # fast path (every Natural Earth unit): inside [-180, 180], no long edge, valid
        if lon.min() >= -180.0 and lon.max() <= 180.0 and not np.any(np.abs(np.diff(lon)) > 180.0):
            if geometry.is_valid:
                return geometry, 0
    polygons = _polygonal_parts(geometry)
    if not polygons and not isinstance(geometry, Polygon | MultiPolygon):
        raise InputError(f"expected a Polygon or MultiPolygon, got a {geometry.geom_type}", field="geometry")
    pieces: list[Polygon] = []
    repaired = 0
    for polygon in polygons:
        parts, fixed = _split_polygon(polygon)
        pieces.extend(parts)
        repaired += fixed
    if len(pieces) == 1:
        return pieces[0], repaired
    result = shapely.multipolygons(pieces)
    if not result.is_valid:  # parts overlapping after the cut (a ring spanning more than 360°)
        result = shapely.multipolygons(_polygonal_parts(shapely.union_all(pieces)))
    return result, repaired


def split_antimeridian(geometry: BaseGeometry) -> Polygon | MultiPolygon:
    """Return ``geometry`` with every part inside lon [-180, 180], cut at ±180° where a ring crosses it.

    Rings with an edge of ``|Δlon| > 180°`` are unwrapped, rings that wind
    around a pole are closed through it, the result is cut at ±180° (RFC 7946
    §3.1.9) and invalid polygons are repaired with :func:`shapely.make_valid`.
    Polygons already inside [-180, 180] without such edges come back unchanged.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> box_across = Polygon([(170, -20), (-170, -20), (-170, -10), (170, -10)])
    >>> sorted(tuple(round(v) for v in p.bounds) for p in split_antimeridian(box_across).geoms)
    [(-180, -20, -170, -10), (170, -20, 180, -10)]
    """
    return _split_antimeridian(geometry)[0]


# --------------------------------------------------------------------------- polygon → cells


def _to_h3shape(parts: list[Polygon]) -> h3.LatLngMultiPoly:
    polys = []
    for part in shapely.segmentize(np.asarray(parts, dtype=object), _MAX_EDGE_DEG):
        outer = [(lat, lon) for lon, lat in np.asarray(part.exterior.coords)[:, :2].tolist()]
        holes = [[(lat, lon) for lon, lat in np.asarray(r.coords)[:, :2].tolist()] for r in part.interiors]
        polys.append(h3.LatLngPoly(outer, *holes))
    return h3.LatLngMultiPoly(*polys)


def polygon_to_cells(geometry: Polygon | MultiPolygon, res: int, *, containment: str = "center") -> np.ndarray:
    """H3 cells of ``geometry`` (lon/lat WGS-84) at resolution ``res``: sorted, unique ``uint64``.

    Parameters
    ----------
    geometry
        Shapely Polygon or MultiPolygon in lon/lat degrees.  Rings crossing the
        antimeridian and rings around a pole are handled (see the module notes).
    res
        H3 resolution 0..15.
    containment
        ``"center"`` (cell centre inside; the default, cell areas then sum to
        the polygon area within the boundary-cell error), ``"overlap"`` (every
        cell touching the polygon: a point inside the polygon is always inside
        one of the cells), ``"full"`` (cells entirely inside) or
        ``"bbox_overlap"`` (h3's cheap superset of ``"overlap"``).

    h3's ``overlap`` and ``full`` tests look at one piece of the cut polygon
    at a time, so a cell straddling ±180° or containing a pole can be missed;
    those cells are re-tested here against the whole polygon with shapely.
    """
    res = validate_resolution(res)
    containment = _validate_containment(containment)
    if not isinstance(geometry, BaseGeometry):
        raise InputError(f"expected a shapely Polygon or MultiPolygon, got {type(geometry).__name__}", field="geometry")
    normalized, _ = _split_antimeridian(geometry)
    parts = _polygonal_parts(normalized)
    if not parts:
        return np.empty(0, dtype=np.uint64)
    if containment in ("center", "overlap"):  # a cell fully inside may straddle two tiles: never tile "full"
        parts = _tiles(parts)
    # the v4.2 algorithm: the classic one fails (H3FailedError) on caps wider than 180°, e.g. Antarctica.
    # Tiles go to h3 one by one: a long run stays interruptible (Ctrl-C is handled between calls).
    groups = [[part] for part in parts] if containment in ("center", "overlap") else [parts]
    found = [
        np.asarray(h3n.h3shape_to_cells_experimental(_to_h3shape(group), res, contain=containment), dtype=np.uint64)
        for group in groups
    ]
    cells = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.uint64)
    if containment in ("overlap", "full"):
        cells = _add_seam_cells(cells, normalized, parts, res, containment)
    return cells


def _tiles(parts: list[Polygon]) -> list[Polygon]:
    """Cut polygons with many vertices into :data:`_TILE_DEG` tiles.

    h3 tests each cell centre against every edge of a loop, so a big country
    with a detailed coast costs cells × vertices; tiles keep both small (Russia
    at res 6: 6 s → 0.5 s, same cells).  Tiles share only their edges, so the
    union of their cells is the polygon's.
    """
    out: list[Polygon] = []
    for part in parts:
        minx, miny, maxx, maxy = part.bounds
        if shapely.get_num_coordinates(part) < _TILE_MIN_VERTICES or max(maxx - minx, maxy - miny) <= _TILE_DEG:
            out.append(part)
            continue
        xs = np.arange(math.floor(minx / _TILE_DEG) * _TILE_DEG, maxx, _TILE_DEG)
        ys = np.arange(math.floor(miny / _TILE_DEG) * _TILE_DEG, maxy, _TILE_DEG)
        grid = shapely.box(*np.meshgrid(xs, ys), *np.meshgrid(xs + _TILE_DEG, ys + _TILE_DEG)).ravel()
        grid = grid[shapely.intersects(part, grid)]
        shapely.prepare(part)
        for piece in shapely.intersection(part, grid):
            out.extend(_polygonal_parts(piece))
    return out


def _near_seam(lat: np.ndarray, lon: np.ndarray, margin_deg: float) -> np.ndarray:
    return (np.abs(lon) > 180.0 - margin_deg) | (np.abs(lat) > 90.0 - margin_deg)


def _add_seam_cells(cells, geometry, parts, res: int, containment: str) -> np.ndarray:
    """Re-test, with shapely, cells near ±180° and the poles that h3 judged one piece at a time."""
    margin = 3.0 * h3.average_hexagon_edge_length(res, unit="km") / _KM_PER_DEG
    lat, lon = cell_centers(cells)
    near = cells[_near_seam(lat, lon, margin)]
    candidates = set()
    for cell in near.tolist():
        candidates.update(h3n.grid_disk(cell, 1).tolist())
    vertices = np.concatenate([shapely.get_coordinates(p) for p in parts])
    vertices = vertices[_near_seam(vertices[:, 1], vertices[:, 0], margin)]
    if len(vertices):
        candidates.update(points_to_cells(vertices[:, 1], vertices[:, 0], res).tolist())
    if not candidates:
        return cells
    candidates_array = np.fromiter(candidates, dtype=np.uint64, count=len(candidates))
    if containment == "overlap":
        candidates_array = np.setdiff1d(candidates_array, cells)
    polygons = cells_to_polygons(candidates_array)
    with GEOS_LOCK:  # ``geometry`` may be the caller's, shared with other threads (skyfence.earth.shared)
        shapely.prepare(geometry)
        if containment == "overlap":
            keep = shapely.intersects(geometry, polygons) & ~shapely.touches(geometry, polygons)
            return np.union1d(cells, candidates_array[keep])
        # full: a cell is in iff the whole polygon covers it; h3 alone misses straddling cells
        covered = shapely.covers(geometry, polygons)
    return np.union1d(np.setdiff1d(cells, candidates_array[~covered]), candidates_array[covered])


# --------------------------------------------------------------------------- cells → geometry & numbers


def cells_to_polygons(cells) -> np.ndarray:
    """Shapely polygons of ``cells`` (object array, same order); a cell straddling ±180° is a MultiPolygon.

    Cells containing a pole come back as plate-carrée caps (closed through
    the pole), so ``shapely.contains_xy`` and areas behave.
    """
    cells = _as_cells(cells)
    if cells.size == 0:
        return np.empty(0, dtype=object)
    boundaries = _checked(h3n.cell_to_boundary, cells)
    counts = np.fromiter(map(len, boundaries), dtype=np.intp, count=len(boundaries))
    latlng = np.array([vertex for boundary in boundaries for vertex in boundary], dtype=float)
    lonlat = latlng[:, ::-1]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    span = np.maximum.reduceat(lonlat[:, 0], starts) - np.minimum.reduceat(lonlat[:, 0], starts)
    result = np.empty(len(cells), dtype=object)
    simple = span <= 180.0
    if simple.any():
        which = np.repeat(simple, counts)
        ring_index = np.repeat(np.arange(int(simple.sum())), counts[simple])
        rings = shapely.linearrings(lonlat[which], indices=ring_index)
        result[simple] = shapely.polygons(rings)
    for i in np.flatnonzero(~simple):
        ring = lonlat[starts[i] : starts[i] + counts[i]]
        pieces, _ = _split_polygon(Polygon(ring))
        result[i] = pieces[0] if len(pieces) == 1 else MultiPolygon(pieces)
    return result


def cell_centers(cells) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude [deg] of the centres of ``cells`` (two float arrays)."""
    cells = _as_cells(cells)
    if cells.size == 0:
        return np.empty(0), np.empty(0)
    latlng = np.array(_checked(h3n.cell_to_latlng, cells), dtype=float)
    return latlng[:, 0], latlng[:, 1]


def cell_area_km2(cells) -> np.ndarray:
    """Exact area [km²] of each cell on h3's sphere (radius 6371.007 km), as ``h3.cell_area(unit='km^2')``."""
    cells = _as_cells(cells)
    return np.array(_checked(lambda c: h3n.cell_area(c, unit="km^2"), cells), dtype=float)


def cell_parents(cells, res: int) -> np.ndarray:
    """The ancestor [uint64] of each cell at the coarser (or the same) resolution ``res``."""
    cells = _as_cells(cells)
    res = validate_resolution(res)
    return np.array(_checked(lambda c: h3n.cell_to_parent(c, res), cells), dtype=np.uint64).reshape(cells.shape)


def cell_children(cells, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Every descendant [uint64] at the finer (or the same) resolution ``res`` of each cell, parent after parent,
    and for each the index of its parent in ``cells``."""
    cells = _as_cells(cells).ravel()
    res = validate_resolution(res)
    if cells.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.intp)
    parts = _checked(lambda c: np.asarray(h3n.cell_to_children(c, res), dtype=np.uint64), cells)
    counts = np.array([len(p) for p in parts], dtype=np.intp)
    return np.concatenate(parts).astype(np.uint64), np.repeat(np.arange(len(cells), dtype=np.intp), counts)


def points_to_cells(lat_deg, lon_deg, res: int) -> np.ndarray:
    """H3 cells [uint64] containing points at ``lat_deg``, ``lon_deg`` [deg] (broadcast); NaN input gives 0.

    Longitudes may be in any range; latitudes outside [-90, 90] raise
    :class:`~skyfence.errors.InputError`.
    """
    res = validate_resolution(res)
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float))
    finite = np.isfinite(lat) & np.isfinite(lon)
    if np.any(np.abs(lat[finite]) > 90.0):
        raise InputError("latitude outside [-90, 90] degrees", field="lat_deg")
    out = np.zeros(lat.shape, dtype=np.uint64)
    if finite.any():
        latlng_to_cell = h3n.latlng_to_cell
        out[finite] = np.fromiter(
            (latlng_to_cell(a, b, res) for a, b in zip(lat[finite].tolist(), lon[finite].tolist(), strict=True)),
            dtype=np.uint64,
            count=int(finite.sum()),
        )
    return out
