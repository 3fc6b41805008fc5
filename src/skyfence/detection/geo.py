"""Spherical helpers for tracks and a compiled serving-satellite search.

Tracks are synthesised on a sphere of radius :data:`EARTH_RADIUS_KM` (the IUGG mean radius): at the 60 s
cadence of the fixes the sphere/ellipsoid difference (< 0.5 %) is far below every threshold the detectors use.
Satellite geometry uses the WGS-84 ellipsoid through :func:`skyfence.earth.geodesy.geodetic_to_ecef`.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "EARTH_RADIUS_KM",
    "best_satellites",
    "destination",
    "haversine_km",
    "initial_bearing_deg",
    "route_positions",
    "serving_elevation_deg",
]

#: IUGG mean Earth radius [km] (Moritz 2000, Geodetic Reference System 1980).
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance [km] between points [deg] (broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def initial_bearing_deg(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Initial great-circle bearing [deg, clockwise from north] from point 1 to point 2."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def destination(lat_deg, lon_deg, bearing_deg, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """The point ``distance_km`` from a start along ``bearing_deg`` (great circle; broadcast)."""
    p1 = np.radians(lat_deg)
    l1 = np.radians(lon_deg)
    b = np.radians(bearing_deg)
    d = np.asarray(distance_km) / EARTH_RADIUS_KM
    p2 = np.arcsin(np.clip(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b), -1.0, 1.0))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def _unit(lat_deg, lon_deg) -> np.ndarray:
    p, lam = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=-1)


def route_positions(way_lat, way_lon, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """Points at ``distance_km`` along a polyline of great-circle segments through the waypoints.

    Distances beyond the end stay at the last waypoint; below zero at the first.
    """
    way_lat = np.asarray(way_lat, dtype=float)
    way_lon = np.asarray(way_lon, dtype=float)
    seg = haversine_km(way_lat[:-1], way_lon[:-1], way_lat[1:], way_lon[1:])
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    d = np.clip(np.asarray(distance_km, dtype=float), 0.0, cum[-1])
    i = np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(seg) - 1)
    length = seg[i]
    f = np.divide(d - cum[i], length, out=np.zeros_like(d), where=length > 0)
    u = _unit(way_lat, way_lon)
    a, b = u[i], u[i + 1]
    theta = length / EARTH_RADIUS_KM
    s = np.sin(theta)
    safe = s > 1e-12
    wa = np.where(safe, np.sin((1 - f) * theta) / np.where(safe, s, 1.0), 1 - f)
    wb = np.where(safe, np.sin(f * theta) / np.where(safe, s, 1.0), f)
    p = wa[:, None] * a + wb[:, None] * b
    p /= np.linalg.norm(p, axis=1)[:, None]
    return np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1))), np.degrees(np.arctan2(p[:, 1], p[:, 0]))


# --------------------------------------------------------------------------- serving satellite


@numba.njit(cache=True, nogil=True)
def _best_kernel(time_index, ground, sat_pos, sin_min_el, out_sat, out_el):  # pragma: no cover - compiled
    """For each fix, the satellite of highest elevation at its time step (above the mask), else -1.

    ``sat_pos`` is ``(satellite, time, 3)`` ITRF km for the steps of this chunk; ``time_index`` indexes it.
    Satellites are sorted per step by latitude band (3 deg) then longitude, so a fix tests only the bands
    within the footprint (<= 12 deg of arc at 25 deg elevation from 550 km).
    """
    n_sat = sat_pos.shape[0]
    n_time = sat_pos.shape[1]
    band_deg = 3.0
    n_band = 60
    reach_deg = 14.0
    for t in range(n_time):
        lat = np.empty(n_sat)
        lon = np.empty(n_sat)
        band = np.empty(n_sat, dtype=np.int64)
        for s in range(n_sat):
            x, y, z = sat_pos[s, t, 0], sat_pos[s, t, 1], sat_pos[s, t, 2]
            if np.isnan(x):
                lat[s] = 999.0
                lon[s] = 0.0
                band[s] = n_band
                continue
            r = np.sqrt(x * x + y * y + z * z)
            lat[s] = np.degrees(np.arcsin(z / r))
            lon[s] = np.degrees(np.arctan2(y, x))
            band[s] = min(int((lat[s] + 90.0) / band_deg), n_band - 1)
        key = band * 1000.0 + (lon + 180.0)
        order = np.argsort(key)
        sorted_key = key[order]
        starts = np.searchsorted(sorted_key, np.arange(n_band + 1) * 1000.0)
        k0 = np.searchsorted(time_index, t, side="left")
        k1 = np.searchsorted(time_index, t, side="right")
        for k in range(k0, k1):
            gx, gy, gz = ground[k, 0], ground[k, 1], ground[k, 2]
            gr = np.sqrt(gx * gx + gy * gy + gz * gz)
            glat = np.degrees(np.arcsin(gz / gr))
            glon = np.degrees(np.arctan2(gy, gx))
            b0 = max(int((glat - reach_deg + 90.0) / band_deg), 0)
            b1 = min(int((glat + reach_deg + 90.0) / band_deg), n_band - 1)
            best = -1
            best_sin = sin_min_el
            coslat = max(np.cos(np.radians(min(abs(glat) + reach_deg, 89.0))), 0.02)
            dlon = min(reach_deg / coslat, 180.0)
            for b in range(b0, b1 + 1):
                lo_i = starts[b]
                hi_i = starts[b + 1]
                for j in range(lo_i, hi_i):
                    s = order[j]
                    d = abs(lon[s] - glon)
                    if d > 180.0:
                        d = 360.0 - d
                    if d > dlon:
                        continue
                    dx = sat_pos[s, t, 0] - gx
                    dy = sat_pos[s, t, 1] - gy
                    dz = sat_pos[s, t, 2] - gz
                    rng = np.sqrt(dx * dx + dy * dy + dz * dz)
                    # sine of elevation ~ (d . up) / |d| with the geocentric up (adequate for a choice of satellite)
                    sin_el = (dx * gx + dy * gy + dz * gz) / (rng * gr)
                    if sin_el > best_sin:
                        best_sin = sin_el
                        best = s
            out_sat[k] = best
            out_el[k] = np.degrees(np.arcsin(best_sin)) if best >= 0 else np.nan


def best_satellites(
    time_index: np.ndarray, ground_ecef_km: np.ndarray, sat_pos_km: np.ndarray, min_elevation_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row of the highest-elevation satellite per fix (``-1`` when none is above the mask) and its elevation."""
    n = len(time_index)
    out_sat = np.full(n, -1, dtype=np.int64)
    out_el = np.full(n, np.nan)
    if n:
        order = np.argsort(time_index, kind="stable")
        sat = np.full(n, -1, dtype=np.int64)
        el = np.full(n, np.nan)
        _best_kernel(
            np.ascontiguousarray(time_index[order]),
            np.ascontiguousarray(ground_ecef_km[order]),
            np.ascontiguousarray(sat_pos_km),
            np.sin(np.radians(min_elevation_deg)),
            sat,
            el,
        )
        out_sat[order] = sat
        out_el[order] = el
    return out_sat, out_el


@numba.njit(cache=True, nogil=True)
def _elevation_kernel(sat, ground, out):  # pragma: no cover - compiled
    for k in range(sat.shape[0]):
        dx = sat[k, 0] - ground[k, 0]
        dy = sat[k, 1] - ground[k, 1]
        dz = sat[k, 2] - ground[k, 2]
        gr = np.sqrt(ground[k, 0] ** 2 + ground[k, 1] ** 2 + ground[k, 2] ** 2)
        rng = np.sqrt(dx * dx + dy * dy + dz * dz)
        out[k] = np.degrees(np.arcsin((dx * ground[k, 0] + dy * ground[k, 1] + dz * ground[k, 2]) / (rng * gr)))


def serving_elevation_deg(sat_ecef_km: np.ndarray, ground_ecef_km: np.ndarray) -> np.ndarray:
    """Elevation [deg] of a satellite position seen from a ground position, row by row (geocentric up)."""
    out = np.full(len(sat_ecef_km), np.nan)
    if len(out):
        _elevation_kernel(
            np.ascontiguousarray(sat_ecef_km, dtype=float), np.ascontiguousarray(ground_ecef_km, dtype=float), out
        )
    return out
