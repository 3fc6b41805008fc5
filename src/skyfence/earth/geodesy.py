"""WGS-84 geodesy and look angles, vectorised.

Positions are Earth-fixed (ITRF/ECEF) kilometres; angles are degrees.  All
functions broadcast over leading axes and never loop in Python.

References
----------
NIMA TR8350.2, *Department of Defense World Geodetic System 1984*, 3rd ed.
(2000) -- the ellipsoid constants.
Heikkinen, M. (1982). Geschlossene Formeln zur Berechnung raeumlicher
geodaetischer Koordinaten aus rechtwinkligen Koordinaten. *Zeitschrift fuer
Vermessungswesen* 107, 207-211 -- the closed-form ECEF -> geodetic
conversion (as given by Zhu, J. (1994), *IEEE Trans. Aerosp. Electron. Syst.*
30(3), 957-961), exact to well below a millimetre for any point above the
Earth's core region.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "WGS84_A_KM",
    "WGS84_B_KM",
    "WGS84_E2",
    "WGS84_F",
    "ecef_to_geodetic",
    "enu_basis",
    "geodetic_to_ecef",
    "look_angles",
]

#: WGS-84 semi-major axis [km] (NIMA TR8350.2).
WGS84_A_KM = 6378.137
#: WGS-84 flattening [-] (NIMA TR8350.2).
WGS84_F = 1.0 / 298.257223563
#: WGS-84 semi-minor axis [km].
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
#: WGS-84 first eccentricity squared [-].
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
_EP2 = (WGS84_A_KM**2 - WGS84_B_KM**2) / WGS84_B_KM**2


def geodetic_to_ecef(lat_deg, lon_deg, alt_km=0.0) -> np.ndarray:
    """WGS-84 geodetic latitude, longitude [deg] and height [km] -> ECEF ``(..., 3)`` [km]."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    h = np.asarray(alt_km, dtype=float)
    sin_lat = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    cos_lat = np.cos(lat)
    x = (n + h) * cos_lat * np.cos(lon)
    y = (n + h) * cos_lat * np.sin(lon)
    z = (n * (1.0 - WGS84_E2) + h) * sin_lat
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def ecef_to_geodetic(xyz_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF ``(..., 3)`` [km] -> WGS-84 geodetic latitude [deg], longitude [deg] in (-180, 180], height [km].

    Heikkinen's closed form (no iteration), compiled with numba.  NaN in gives NaN out.
    """
    xyz = np.ascontiguousarray(xyz_km, dtype=float)
    shape = xyz.shape[:-1]
    lat, lon, alt = _ecef_to_geodetic_kernel(xyz.reshape(-1, 3))
    return lat.reshape(shape), lon.reshape(shape), alt.reshape(shape)


@numba.njit(cache=True, nogil=True)
def _ecef_to_geodetic_kernel(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b, e2, ep2 = WGS84_A_KM, WGS84_B_KM, WGS84_E2, _EP2
    n = xyz.shape[0]
    lat = np.empty(n)
    lon = np.empty(n)
    alt = np.empty(n)
    to_deg = 180.0 / np.pi
    for i in range(n):
        x, y, z = xyz[i, 0], xyz[i, 1], xyz[i, 2]
        r2 = x * x + y * y
        r = np.sqrt(r2)
        z2 = z * z
        f = 54.0 * b * b * z2
        g = r2 + (1.0 - e2) * z2 - e2 * (a * a - b * b)
        c = e2 * e2 * f * r2 / (g * g * g)
        s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
        p = f / (3.0 * (s + 1.0 / s + 1.0) ** 2 * g * g)
        q = np.sqrt(1.0 + 2.0 * e2 * e2 * p)
        # On the polar axis the radicand is 0 up to rounding: clamp it.
        radicand = 0.5 * a * a * (1.0 + 1.0 / q) - p * (1.0 - e2) * z2 / (q * (1.0 + q)) - 0.5 * p * r2
        r0 = -(p * e2 * r) / (1.0 + q) + np.sqrt(max(radicand, 0.0))
        u = np.sqrt((r - e2 * r0) ** 2 + z2)
        v = np.sqrt((r - e2 * r0) ** 2 + (1.0 - e2) * z2)
        z0 = b * b * z / (a * v)
        alt[i] = u * (1.0 - b * b / (a * v))
        lat[i] = np.arctan2(z + ep2 * z0, r) * to_deg
        lon[i] = np.arctan2(y, x) * to_deg
    return lat, lon, alt


def enu_basis(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors East, North, Up of the local geodetic frame, shape ``(..., 3, 3)`` (rows E, N, U) in ECEF."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), axis=-1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), axis=-1)
    return np.stack([east, north, up], axis=-2)


def look_angles(lat_deg, lon_deg, alt_km, target_xyz_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevation [deg], azimuth [deg, clockwise from north, 0..360) and slant range [km] of targets.

    Elevation is measured from the plane normal to the WGS-84 ellipsoid at the
    observer (geodetic horizon), as skyfield's ``(sat - topos).at(t).altaz()``
    does (without refraction).  ``target_xyz_km`` is ECEF ``(..., 3)`` and
    broadcasts against the observer arrays: observers of shape ``(m,)`` and
    targets of shape ``(n, 1, 3)`` give ``(n, m)`` results.
    """
    origin = geodetic_to_ecef(lat_deg, lon_deg, alt_km)
    basis = enu_basis(lat_deg, lon_deg)
    d = np.asarray(target_xyz_km, dtype=float) - origin
    e = np.sum(d * basis[..., 0, :], axis=-1)
    n = np.sum(d * basis[..., 1, :], axis=-1)
    u = np.sum(d * basis[..., 2, :], axis=-1)
    horizontal = np.hypot(e, n)
    slant = np.sqrt(horizontal**2 + u**2)
    elevation = np.degrees(np.arctan2(u, horizontal))
    azimuth = np.degrees(np.arctan2(e, n)) % 360.0
    return elevation, azimuth, slant
