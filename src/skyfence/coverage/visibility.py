"""Visibility kernel: satellites above an elevation mask per (time, ground point).

The cost grows with the satellite-point pairs in view, not with satellites x
points: ground points are bucketed once on a latitude/longitude grid of their
geocentric directions; for each satellite and time step only the buckets
under a spherical cap around the sub-satellite point are visited, and each
candidate is tested exactly on the WGS-84 ellipsoid::

    elevation >= mask  <=>  (p - g) . n  >=  sin(mask) * |p - g|

with ``p`` the satellite (ITRF), ``g`` the ground point and ``n`` the
ellipsoid normal at ``g`` -- the same geodetic horizon skyfield's ``altaz()``
uses.  The cap radius is the largest Earth-central angle at which a satellite
at geocentric distance ``r`` can be above the mask over a sphere of the
ellipsoid's *polar* radius (the most generous case), plus a margin for the
tilt between the ellipsoid normal and the radial direction (<= 0.193 deg), so
no pair in view is ever skipped; the exact test removes the extra candidates.

Kernels are compiled with numba, release the GIL and run in parallel over the
time steps of a chunk; :func:`iter_visibility` overlaps SGP4 for the next chunk
with the kernel for the current one.

References
----------
Vallado, D. A. (2013). *Fundamentals of Astrodynamics and Applications*,
4th ed., sec. 11.3 (site-track and look angles; footprint geometry).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np

from skyfence._threads import overlap_pool
from skyfence.earth.geodesy import WGS84_B_KM, enu_basis, geodetic_to_ecef
from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.propagate import iter_positions

__all__ = [
    "GroundGrid",
    "VisibilityChunk",
    "footprint_radius_km",
    "iter_visibility",
    "max_central_angle_deg",
    "visibility_from_positions",
]

#: Largest angle between the WGS-84 normal and the geocentric radial direction [deg] (at 45 deg latitude).
_NORMAL_TILT_MARGIN_DEG = 0.2


def validate_mask(min_elevation_deg: float) -> float:
    """The elevation mask as float, or :class:`InputError` outside [0, 90) deg."""
    value = float(min_elevation_deg)
    if not 0.0 <= value < 90.0:
        raise InputError(
            f"minimum elevation must be in [0, 90) degrees, got {min_elevation_deg}",
            field="min_elevation",
            hint="e.g. 25 (Starlink's filed minimum) or 40 (Gen2)",
        )
    return value


def max_central_angle_deg(alt_km, min_elevation_deg: float, earth_radius_km: float = WGS84_B_KM) -> np.ndarray:
    """Earth-central half-angle of the footprint [deg] of a satellite at ``alt_km`` over a sphere.

    ``lambda = arccos(R cos(eps) / (R + h)) - eps`` (Vallado 2013, eq. 11-5 form).
    """
    eps = np.radians(min_elevation_deg)
    r = earth_radius_km + np.asarray(alt_km, dtype=float)
    return np.degrees(np.arccos(np.clip(earth_radius_km * np.cos(eps) / r, -1.0, 1.0)) - eps)


def footprint_radius_km(alt_km, min_elevation_deg: float, earth_radius_km: float = 6371.0088) -> np.ndarray:
    """Ground radius [km] of the region that sees a satellite at ``alt_km`` above ``min_elevation_deg``.

    Arc length on a sphere of the IUGG mean radius (6,371.0088 km, Moritz 2000).
    550 km and 25 deg give about 940 km.
    """
    return np.radians(max_central_angle_deg(alt_km, min_elevation_deg, earth_radius_km)) * earth_radius_km


@dataclass(frozen=True, eq=False)
class GroundGrid:
    """Ground points prepared for the kernel.

    Points are grouped in bands of geocentric latitude (``band_deg`` wide) and
    sorted by longitude inside each band, so that the points under a
    satellite's footprint form one or two contiguous runs per band.  Arrays
    with a ``sorted_`` prefix are in that order; ``order[i]`` is the caller's
    index of sorted point ``i``.  Build with :meth:`from_latlon`.
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    band_deg: float
    lon_step_deg: float
    lon_index: np.ndarray
    order: np.ndarray
    sorted_xyz_normal: np.ndarray

    @classmethod
    def from_latlon(
        cls, lat_deg, lon_deg, alt_km=0.0, *, band_deg: float = 1.0, lon_step_deg: float = 0.5
    ) -> GroundGrid:
        """Prepare points given by WGS-84 geodetic latitude, longitude [deg] and height [km]."""
        lat = np.ascontiguousarray(np.atleast_1d(np.asarray(lat_deg, dtype=float)))
        lon = np.ascontiguousarray(np.atleast_1d(np.asarray(lon_deg, dtype=float)))
        if lat.shape != lon.shape or lat.ndim != 1:
            raise InputError("latitudes and longitudes must be 1-D arrays of the same length", field="points")
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()) or np.abs(lat).max(initial=0) > 90:
            raise InputError("ground points need finite latitudes in [-90, 90]", field="points")
        ecef = geodetic_to_ecef(lat, lon, alt_km)
        normal = enu_basis(lat, lon)[:, 2, :]
        glat = np.degrees(np.arctan2(ecef[:, 2], np.hypot(ecef[:, 0], ecef[:, 1])))
        glon = np.degrees(np.arctan2(ecef[:, 1], ecef[:, 0]))
        n_band = math.ceil(180.0 / band_deg)
        band = np.clip(((glat + 90.0) / band_deg).astype(np.int64), 0, n_band - 1)
        order = np.lexsort((glon, band))
        # lon_index[i, j]: first sorted point of band i with longitude >= -180 + j * lon_step_deg, so the
        # points of a band inside a longitude interval are one slice found by two look-ups.
        n_lon = math.ceil(360.0 / lon_step_deg) + 2
        edges = -180.0 + np.arange(n_lon) * lon_step_deg
        key = band[order] * 1000.0 + (glon[order] + 180.0)  # sorted: band-major, then longitude
        lon_index = np.searchsorted(key, (np.arange(n_band)[:, None] * 1000.0 + (edges[None, :] + 180.0)).ravel())
        packed = np.ascontiguousarray(np.concatenate([ecef, normal], axis=1)[order])
        return cls(
            lat,
            lon,
            float(band_deg),
            float(lon_step_deg),
            lon_index.reshape(n_band, n_lon).astype(np.int64),
            order.astype(np.int64),
            packed,
        )

    def __len__(self) -> int:
        return len(self.lat_deg)


@dataclass(frozen=True)
class VisibilityChunk:
    """Results for one chunk of time steps.

    ``count`` has shape ``(time, point)`` (satellites above the mask);
    ``best_sat`` / ``best_elevation_deg`` have shape ``(time, point, k)``
    (satellite indices, -1 where fewer than k are in view; elevations
    descending, NaN where none) when ``k > 0`` was asked for.
    ``position_itrf_km`` ``(satellite, time, 3)`` when ``keep_positions`` was asked for.
    """

    time_slice: slice
    times: np.ndarray
    count: np.ndarray
    best_sat: np.ndarray | None = None
    best_elevation_deg: np.ndarray | None = None
    position_itrf_km: np.ndarray | None = None


@numba.njit(inline="always")
def _up_and_range2(m, px, py, pz, pts):  # pragma: no cover - compiled
    """Height of the satellite above point ``m``'s horizon plane [km] and squared slant range [km^2]."""
    dx = px - pts[m, 0]
    dy = py - pts[m, 1]
    dz = pz - pts[m, 2]
    return dx * pts[m, 3] + dy * pts[m, 4] + dz * pts[m, 5], dx * dx + dy * dy + dz * dz


@numba.njit(inline="always")
def _count_run(t, lo, hi, px, py, pz, pts, sin2, count):  # pragma: no cover - compiled
    for m in range(lo, hi):
        up, d2 = _up_and_range2(m, px, py, pz, pts)
        count[t, m] += (up >= 0.0) & (up * up >= sin2 * d2)


@numba.njit(inline="always")
def _topk_run(t, s, lo, hi, px, py, pz, pts, sin2, count, best_sat, best_el):  # pragma: no cover - compiled
    k = best_sat.shape[2]
    for m in range(lo, hi):
        up, d2 = _up_and_range2(m, px, py, pz, pts)
        if up < 0.0 or up * up < sin2 * d2:
            continue
        count[t, m] += 1
        el = math.asin(min(up / math.sqrt(d2), 1.0)) * (180.0 / np.pi)
        slot = k
        while slot > 0 and (best_sat[t, m, slot - 1] < 0 or best_el[t, m, slot - 1] < el):
            slot -= 1
        if slot < k:
            for q in range(k - 1, slot, -1):
                best_sat[t, m, q] = best_sat[t, m, q - 1]
                best_el[t, m, q] = best_el[t, m, q - 1]
            best_sat[t, m, slot] = s
            best_el[t, m, slot] = el


@numba.njit(inline="always")
def _append_run(t, s, lo, hi, px, py, pz, pts, sin2, count, best_sat, best_el):  # pragma: no cover - compiled
    k = best_sat.shape[2]
    for m in range(lo, hi):
        up, d2 = _up_and_range2(m, px, py, pz, pts)
        if up < 0.0 or up * up < sin2 * d2:
            continue
        slot = count[t, m]
        count[t, m] += 1
        if slot < k:
            best_sat[t, m, slot] = s
            best_el[t, m, slot] = math.asin(min(up / math.sqrt(d2), 1.0)) * (180.0 / np.pi)


@numba.njit(inline="always")
def _scan(t, s, lo, hi, px, py, pz, pts, sin2, top_k, count, best_sat, best_el):  # pragma: no cover - compiled
    if top_k == 2:
        _append_run(t, s, lo, hi, px, py, pz, pts, sin2, count, best_sat, best_el)
    elif top_k:
        _topk_run(t, s, lo, hi, px, py, pz, pts, sin2, count, best_sat, best_el)
    else:
        _count_run(t, lo, hi, px, py, pz, pts, sin2, count)


@numba.njit(inline="always")
def footprint_window(  # pragma: no cover - compiled
    px, py, pz, n_band, last, band_deg, lon_step, mask_rad, earth_radius_km, cap_margin_deg
):
    """Grid window that holds every point which may see a satellite at ITRF ``(px, py, pz)`` [km].

    Returns ``(i0, i1, j_lo, j_hi, wrap_lo, wrap_hi)``: latitude bands ``i0..i1``
    (none when ``i0 > i1``: the satellite is below every horizon or its
    position is NaN), longitude columns ``j_lo..j_hi`` of
    :attr:`GroundGrid.lon_index`, and a second run ``wrap_lo..wrap_hi`` where
    the cap crosses the antimeridian (``wrap_lo < 0``: none).
    """
    r2d = 180.0 / np.pi
    if not (px == px):  # NaN: SGP4 failure
        return 1, 0, 0, 0, -1, -1
    r = math.sqrt(px * px + py * py + pz * pz)
    c = earth_radius_km * math.cos(mask_rad) / r
    if c >= 1.0:
        return 1, 0, 0, 0, -1, -1
    cap = (math.acos(c) - mask_rad) * r2d + cap_margin_deg
    slat = math.asin(pz / r) * r2d
    slon = math.atan2(py, px) * r2d
    # Longitude half-width of the cap (largest over its latitudes); all longitudes if it holds a pole.
    full = slat + cap >= 90.0 or slat - cap <= -90.0
    ratio = 0.0
    if not full:
        ratio = math.sin(cap / r2d) / math.cos(slat / r2d)
        full = ratio >= 1.0
    half = 180.0 if full else math.asin(ratio) * r2d
    i0 = max(int((slat - cap + 90.0) / band_deg), 0)
    i1 = min(int((slat + cap + 90.0) / band_deg), n_band - 1)
    j_lo = int((slon - half + 180.0) / lon_step) if slon - half > -180.0 else 0
    j_hi = min(int((slon + half + 180.0) / lon_step) + 1, last)
    wrap_lo = -1
    wrap_hi = -1
    if not full and slon - half < -180.0:  # the cap crosses the antimeridian westwards
        wrap_lo = int((slon - half + 540.0) / lon_step)
        wrap_hi = last
    elif not full and slon + half > 180.0:  # ... eastwards
        wrap_lo = 0
        wrap_hi = min(int((slon + half - 180.0) / lon_step) + 1, last)
    if full:
        j_lo = 0
        j_hi = last
    return i0, i1, j_lo, j_hi, wrap_lo, wrap_hi


@numba.njit(parallel=True, nogil=True, cache=True)
def _visibility_kernel(
    pos,
    pts,
    lon_index,
    band_deg,
    lon_step,
    mask_rad,
    earth_radius_km,
    cap_margin_deg,
    top_k,
    count,
    best_sat,
    best_el,
):  # pragma: no cover - compiled
    n_sat, n_time = pos.shape[0], pos.shape[1]
    n_band, n_lon = lon_index.shape
    sin_mask = math.sin(mask_rad)
    sin2 = sin_mask * sin_mask
    for t in numba.prange(n_time):
        for s in range(n_sat):
            px, py, pz = pos[s, t, 0], pos[s, t, 1], pos[s, t, 2]
            i0, i1, j_lo, j_hi, wrap_lo, wrap_hi = footprint_window(
                px, py, pz, n_band, n_lon - 1, band_deg, lon_step, mask_rad, earth_radius_km, cap_margin_deg
            )
            for i in range(i0, i1 + 1):
                _scan(
                    t, s, lon_index[i, j_lo], lon_index[i, j_hi], px, py, pz, pts, sin2, top_k, count, best_sat, best_el
                )
                if wrap_lo >= 0:
                    _scan(
                        t,
                        s,
                        lon_index[i, wrap_lo],
                        lon_index[i, wrap_hi],
                        px,
                        py,
                        pz,
                        pts,
                        sin2,
                        top_k,
                        count,
                        best_sat,
                        best_el,
                    )


def _run_kernel(grid: GroundGrid, pos: np.ndarray, mask_deg: float, k: int, all_pairs: bool = False):
    """Run the kernel on one chunk; results in the caller's point order.

    ``all_pairs`` keeps the first ``k`` satellites in view of each point in
    scan order (satellite index order), unsorted, instead of the ``k`` highest.
    """
    n_time, n_pts = pos.shape[1], len(grid)
    count = np.zeros((n_time, n_pts), dtype=np.uint16)
    if all_pairs:  # slots past count[t, p] are never read, so they need no fill value
        best_sat = np.empty((n_time, n_pts, max(k, 1)), dtype=np.int32)
        best_el = np.empty(best_sat.shape, dtype=np.float32)
    else:
        best_sat = np.full((n_time, n_pts, max(k, 1)), -1, dtype=np.int32)
        best_el = np.full(best_sat.shape, np.nan, dtype=np.float32)
    _visibility_kernel(
        np.ascontiguousarray(pos),
        grid.sorted_xyz_normal,
        grid.lon_index,
        grid.band_deg,
        grid.lon_step_deg,
        math.radians(mask_deg),
        WGS84_B_KM,
        _NORMAL_TILT_MARGIN_DEG,
        2 if (all_pairs and k > 0) else int(k > 0),
        count,
        best_sat,
        best_el,
    )
    unsorted = np.empty_like(count)
    unsorted[:, grid.order] = count
    if not k:
        return unsorted, None, None
    sat_out = np.empty_like(best_sat)
    el_out = np.empty_like(best_el)
    sat_out[:, grid.order] = best_sat
    el_out[:, grid.order] = best_el
    return unsorted, sat_out, el_out


def visibility_from_positions(
    grid: GroundGrid,
    position_itrf_km: np.ndarray,
    *,
    min_elevation_deg: float = 25.0,
    k: int = 0,
    all_pairs: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The kernel on positions already computed: ``(count, best_sat, best_elevation_deg)`` per (time, point)."""
    _check_k(k, all_pairs)
    mask = validate_mask(min_elevation_deg)
    return _run_kernel(grid, np.asarray(position_itrf_km, dtype=float), mask, int(k), all_pairs)


def _check_k(k: int, all_pairs: bool) -> None:
    limit = 128 if all_pairs else 64
    if k < 0 or k > limit:
        raise InputError(f"k must be in 0..{limit}, got {k}", field="k")


def iter_visibility(
    constellation: Constellation,
    grid: GroundGrid,
    times: np.ndarray,
    *,
    min_elevation_deg: float = 25.0,
    k: int = 0,
    chunk_steps: int | None = None,
    keep_positions: bool = False,
    all_pairs: bool = False,
) -> Iterator[VisibilityChunk]:
    """Stream satellites-in-view counts (and optionally the best ``k`` satellites) over time chunks.

    SGP4 for chunk ``i + 1`` runs on the calling thread while the compiled
    kernel (which releases the GIL) works on chunk ``i`` in a worker thread
    (on the calling thread, one after the other, under a one-core
    :func:`skyfence._threads.thread_budget`).
    Memory holds two chunks of positions and one of results at most
    (``keep_positions`` hands each chunk's positions on with its results).
    With ``all_pairs`` the ``k`` slots (up to 128) hold every satellite in view
    in satellite order, unsorted (``count`` still counts all of them).
    """
    mask = validate_mask(min_elevation_deg)
    _check_k(k, all_pairs)
    if chunk_steps is None:
        chunk_steps = max(1, min(240, 4_000_000 // max(len(constellation), 1)))
    with overlap_pool("skyfence-visibility") as pool:
        pending = None
        for chunk in iter_positions(constellation, times, chunk_steps=chunk_steps):
            future = pool.submit(_run_kernel, grid, chunk.position_itrf_km, mask, k, all_pairs)
            if pending is not None:
                yield _finish(*pending, keep_positions)
            pending = (chunk, future)
        if pending is not None:
            yield _finish(*pending, keep_positions)


def _finish(chunk, future, keep_positions: bool = False) -> VisibilityChunk:
    count, best_sat, best_el = future.result()
    positions = chunk.position_itrf_km if keep_positions else None
    return VisibilityChunk(chunk.time_slice, chunk.times, count, best_sat, best_el, positions)
