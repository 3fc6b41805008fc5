"""The engine's spatial fast path: a lat/lon tile index of the policy's parts, exact where a tile straddles a border.

The Earth is cut into square tiles of ``tile_deg`` degrees (default 0.05°: 7200 x 3600 tiles, about 5.5 km).  For
every part (country unit, occupied area, geofence polygon ...) each tile is classified once, when the policy is
compiled:

* **boundary** -- an edge of the part passes through the tile or within 1e-9° of it (a conservative supercover
  of every edge, computed row by row);
* **inside** -- no edge comes near the tile and the tile's centre is inside the part (even-odd scan-line
  crossings at the centre latitude of each row of tiles), so the whole closed tile is inside;
* **outside** -- otherwise.

Tiles inside the same set of parts share a *class*; a ``uint16`` raster maps each tile to its class, or to
:data:`BOUNDARY`.  A fix in a pure tile gets its parts by one table lookup; a fix in a boundary tile gets the
parts that fully cover its tile plus the candidate parts whose edges cross it, each tested exactly with
``shapely.intersects_xy`` on a prepared geometry.  Results are therefore exactly shapely's, including points on
an edge (inside).

Why tiles, not H3: finding the H3 cell of a point costs about a microsecond in h3-py (a Python call per point),
which alone would cap the engine below 1 M decisions/s; a regular lon/lat raster is two multiplications.  Polygon
edges are straight in lon/lat (RFC 7946), like the tiles, so the classification is exact.  H3 stays the grid of
the user-facing maps (:mod:`skyfence.policy.availability`).

Memory: 2 bytes per tile (52 MB at 0.05°) plus a few MB for the boundary tiles (about 1-2 % of them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import shapely

__all__ = ["BOUNDARY", "TileIndex", "build_index", "ring_edges"]

#: Raster value of a tile that straddles a part's boundary.
BOUNDARY = np.uint16(65535)
_EPS = 1e-9


def ring_edges(geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every edge of every ring of a (Multi)Polygon as ``x0, y0, x1, y1`` arrays."""
    rings = shapely.get_rings(shapely.get_parts(geometry))
    coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        empty = np.empty(0)
        return empty, empty, empty, empty
    same = ring_index[1:] == ring_index[:-1]
    x, y = coords[:, 0], coords[:, 1]
    return x[:-1][same], y[:-1][same], x[1:][same], y[1:][same]


@numba.njit(cache=True)
def _boundary_tiles(x0, y0, x1, y1, d, nrows, ncols, eps, out, count_only):  # pragma: no cover - numba
    """Flat indices of tiles touched by edges (conservative).  With ``count_only`` just count them."""
    n = 0
    for k in range(x0.shape[0]):
        ax, ay, bx, by = x0[k], y0[k], x1[k], y1[k]
        ymin = min(ay, by)
        ymax = max(ay, by)
        r0 = math.floor((ymin - eps + 90.0) / d)
        r1 = math.floor((ymax + eps + 90.0) / d)
        r0 = max(r0, 0)
        r1 = min(r1, nrows - 1)
        for r in range(r0, r1 + 1):
            lo = -90.0 + r * d - eps
            hi = -90.0 + (r + 1) * d + eps
            if by == ay:
                xa = min(ax, bx)
                xb = max(ax, bx)
            else:
                ta = (lo - ay) / (by - ay)
                tb = (hi - ay) / (by - ay)
                tmin = max(0.0, min(ta, tb))
                tmax = min(1.0, max(ta, tb))
                if tmin > tmax:
                    continue
                pa = ax + tmin * (bx - ax)
                pb = ax + tmax * (bx - ax)
                xa = min(pa, pb)
                xb = max(pa, pb)
            c0 = math.floor((xa - eps + 180.0) / d)
            c1 = math.floor((xb + eps + 180.0) / d)
            c0 = max(c0, 0)
            c1 = min(c1, ncols - 1)
            for c in range(c0, c1 + 1):
                if not count_only:
                    out[n] = r * ncols + c
                n += 1
    return n


@numba.njit(cache=True)
def _scan_crossings(x0, y0, x1, y1, d, nrows, counts, xs, fill, write):  # pragma: no cover - numba
    """One pass over the edges: count the crossings per row (``write`` False) or store their x (True)."""
    for k in range(x0.shape[0]):
        ymin = min(y0[k], y1[k])
        ymax = max(y0[k], y1[k])
        r = max(math.floor((ymin + 90.0) / d - 0.5), 0)
        while r < nrows:
            yc = -90.0 + (r + 0.5) * d
            if yc >= ymax:
                break
            if (y0[k] > yc) != (y1[k] > yc):
                if write:
                    xs[fill[r]] = x0[k] + (yc - y0[k]) * (x1[k] - x0[k]) / (y1[k] - y0[k])
                    fill[r] += 1
                else:
                    counts[r + 1] += 1
            r += 1


@numba.njit(cache=True)
def _row_crossings(x0, y0, x1, y1, d, nrows):  # pragma: no cover - numba
    """x of every edge crossing at each row's centre latitude (half-open rule), as CSR ``(row_ptr, xs)``."""
    counts = np.zeros(nrows + 1, dtype=np.int64)
    unused = np.empty(0, dtype=np.float64)
    _scan_crossings(x0, y0, x1, y1, d, nrows, counts, unused, counts, False)
    row_ptr = np.cumsum(counts)
    xs = np.empty(row_ptr[-1], dtype=np.float64)
    fill = row_ptr[:-1].copy()
    _scan_crossings(x0, y0, x1, y1, d, nrows, counts, xs, fill, True)
    for r in range(nrows):
        xs[row_ptr[r] : row_ptr[r + 1]] = np.sort(xs[row_ptr[r] : row_ptr[r + 1]])
    return row_ptr, xs


@numba.njit(cache=True)
def _interior(row_ptr, xs, d, ncols, bmark, part, cls, trans, seen, apply):  # pragma: no cover - numba
    """Visit tiles whose centre is inside (even-odd) and that are not boundary tiles of ``part``.

    First pass (``apply`` False): flag the classes met in ``seen``.  Second pass: ``cls = trans[cls]``.
    """
    nrows = row_ptr.shape[0] - 1
    for r in range(nrows):
        a = row_ptr[r]
        b = row_ptr[r + 1]
        for k in range(a, b - 1, 2):
            xa = xs[k]
            xb = xs[k + 1]
            c0 = math.ceil((xa + 180.0) / d - 0.5)
            c1 = math.floor((xb + 180.0) / d - 0.5)
            c0 = max(c0, 0)
            c1 = min(c1, ncols - 1)
            for c in range(c0, c1 + 1):
                xc = -180.0 + (c + 0.5) * d
                if xc <= xa or xc >= xb:
                    continue
                t = r * ncols + c
                if bmark[t] == part:
                    continue
                if apply:
                    cls[t] = trans[cls[t]]
                else:
                    seen[cls[t]] = True


@numba.njit(cache=True)
def _lookup(lat, lon, inv_d, nrows, ncols, raster, flat_out):  # pragma: no cover - numba
    n = lat.shape[0]
    out = np.empty(n, dtype=np.uint16)
    for i in range(n):
        r = math.floor((lat[i] + 90.0) * inv_d)
        c = math.floor((lon[i] + 180.0) * inv_d)
        if r < 0:
            r = 0
        elif r >= nrows:
            r = nrows - 1
        if c < 0:
            c = 0
        elif c >= ncols:
            c = ncols - 1
        t = r * ncols + c
        flat_out[i] = t
        out[i] = raster[t]
    return out


@dataclass(frozen=True, eq=False)
class TileIndex:
    """A compiled tile index (see the module notes).

    Attributes
    ----------
    tile_deg
        Tile size [deg].
    raster
        ``uint16`` class of each tile (row-major from -90°, -180°), :data:`BOUNDARY` for boundary tiles.
    classes
        Part sets of the classes (class 0 is the empty set).
    boundary_tiles
        Sorted flat indices of the boundary tiles.
    boundary_base
        Class of the parts that fully cover each boundary tile.
    boundary_ptr, boundary_parts
        CSR lists of the candidate parts (edges in the tile) of each boundary tile.
    """

    tile_deg: float
    nrows: int
    ncols: int
    raster: np.ndarray
    classes: tuple[frozenset[int], ...]
    boundary_tiles: np.ndarray
    boundary_base: np.ndarray
    boundary_ptr: np.ndarray
    boundary_parts: np.ndarray

    def lookup(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class or BOUNDARY, flat tile index) of each point (lat in [-90, 90], lon in [-180, 180])."""
        flat = np.empty(lat.shape[0], dtype=np.int64)
        inv_d = 1.0 / self.tile_deg
        # one numba signature: C-contiguous, writeable float64 (read-only views would compile another)
        lat, lon = (
            a
            if a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
            else np.array(a, dtype=np.float64, order="C")
            for a in (lat, lon)
        )
        cls = _lookup(lat, lon, inv_d, self.nrows, self.ncols, self.raster, flat)
        return cls, flat

    @property
    def boundary_fraction(self) -> float:
        """Share of tiles that are boundary tiles."""
        return len(self.boundary_tiles) / self.raster.size


def build_index(geometries, tile_deg: float = 0.05) -> TileIndex:
    """Classify every tile against every geometry (lon/lat (Multi)Polygons inside [-180, 180]); see the module."""
    nrows = round(180.0 / tile_deg)
    ncols = round(360.0 / tile_deg)
    if abs(nrows * tile_deg - 180.0) > 1e-9 or abs(ncols * tile_deg - 360.0) > 1e-9:
        raise ValueError(f"tile_deg {tile_deg} must divide 180")
    if len(geometries) >= int(BOUNDARY):
        raise ValueError("too many parts for a uint16 index")
    size = nrows * ncols
    raster = np.zeros(size, dtype=np.uint16)
    bmark = np.full(size, BOUNDARY, dtype=np.uint16)
    classes: list[frozenset[int]] = [frozenset()]
    class_ids: dict[frozenset[int], int] = {frozenset(): 0}
    tile_chunks, part_chunks = [], []
    for part, geometry in enumerate(geometries):
        x0, y0, x1, y1 = ring_edges(geometry)
        if not len(x0):
            continue
        count = _boundary_tiles(x0, y0, x1, y1, tile_deg, nrows, ncols, _EPS, np.empty(0, np.int64), True)
        tiles = np.empty(count, dtype=np.int64)
        _boundary_tiles(x0, y0, x1, y1, tile_deg, nrows, ncols, _EPS, tiles, False)
        tiles = np.unique(tiles)
        bmark[tiles] = part
        tile_chunks.append(tiles)
        part_chunks.append(np.full(len(tiles), part, dtype=np.int32))
        row_ptr, xs = _row_crossings(x0, y0, x1, y1, tile_deg, nrows)
        seen = np.zeros(len(classes), dtype=np.bool_)
        trans = np.arange(len(classes), dtype=np.uint16)
        _interior(row_ptr, xs, tile_deg, ncols, bmark, part, raster, trans, seen, False)
        for old in np.flatnonzero(seen):
            new = classes[old] | {part}
            if new not in class_ids:
                if len(classes) >= int(BOUNDARY) - 1:
                    raise ValueError("too many distinct part combinations for a uint16 index")
                class_ids[new] = len(classes)
                classes.append(new)
            trans[old] = class_ids[new]
        if seen.any():
            _interior(row_ptr, xs, tile_deg, ncols, bmark, part, raster, trans, seen, True)
    del bmark
    if tile_chunks:
        all_tiles = np.concatenate(tile_chunks)
        all_parts = np.concatenate(part_chunks)
    else:
        all_tiles = np.empty(0, dtype=np.int64)
        all_parts = np.empty(0, dtype=np.int32)
    order = np.lexsort((all_parts, all_tiles))
    all_tiles, all_parts = all_tiles[order], all_parts[order]
    boundary_tiles, starts = np.unique(all_tiles, return_index=True)
    boundary_ptr = np.append(starts, len(all_tiles)).astype(np.int64)
    boundary_base = raster[boundary_tiles].copy()
    raster[boundary_tiles] = BOUNDARY
    return TileIndex(
        tile_deg=tile_deg,
        nrows=nrows,
        ncols=ncols,
        raster=raster,
        classes=tuple(classes),
        boundary_tiles=boundary_tiles,
        boundary_base=boundary_base,
        boundary_ptr=boundary_ptr,
        boundary_parts=all_parts,
    )
