"""Links: inter-satellite topologies and ground-to-satellite visibility, vectorised.

ISL topologies (:data:`ISL_TOPOLOGIES`)
---------------------------------------
``"+grid"``
    Per shell, each satellite links to its two neighbours in its orbital plane
    (a ring) and to one satellite in each adjacent plane (the planes form a
    ring too): four lasers per satellite, the "+Grid" of Bhattacherjee &
    Singla (2019) and Hypatia's ``generate_plus_grid_isls`` (``isl_shift=0``).
    When the constellation knows planes and slots (Walker presets) the
    cross-plane partner is the satellite with the same slot index in the next
    plane, exactly as Hypatia.  For a real catalog (planes unknown) planes are
    found by clustering the right ascension of the ascending node of the
    osculating orbit at ``t_ref`` (gaps above ``plane_gap_deg``) and the
    partner is the satellite of the next plane nearest in argument of latitude
    -- the same-slot rule for a plane with gaps.  Planes with fewer than 3
    satellites get no in-plane ring.  Limitation: every in-service satellite
    gets lasers, although Starlink's v1.0 satellites (2019-2021) have none.
``"none"``
    No ISLs: bent pipe only (terminal -> satellite -> gateway).

Ground-to-satellite links exist where the satellite is at least
``min_elevation_deg`` above the geodetic horizon of the ground point and, if
given, within ``max_range_km``.  Starlink's filings use 25 deg for user
terminals and gateways (FCC 20-2125, Gen1 modification, 2021; the 2023
community gateway list gives "Ka Min Elevation: 25").

References
----------
Bhattacherjee, D., Singla, A. (2019). Network topology design at 27,000 km/hour.
ACM CoNEXT 2019 (the +Grid motif).
Kassing, S. et al. (2020). Exploring the "Internet from space" with Hypatia. ACM IMC 2020.
"""

from __future__ import annotations

import numpy as np

from skyfence.errors import InputError

__all__ = [
    "DEFAULT_MIN_ELEVATION_DEG",
    "ISL_TOPOLOGIES",
    "GroundPoints",
    "ground_links",
    "isl_pairs",
    "orbit_planes",
    "plus_grid",
]

ISL_TOPOLOGIES = ("+grid", "none")
#: Minimum elevation of user terminals and gateways [deg] (Starlink FCC filings, see the module docstring).
DEFAULT_MIN_ELEVATION_DEG = 25.0


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    keep = a != b
    pairs = np.stack([np.minimum(a, b)[keep], np.maximum(a, b)[keep]], axis=1)
    if not len(pairs):
        return pairs.reshape(0, 2).astype(np.int64)
    return np.unique(pairs, axis=0).astype(np.int64)


def plus_grid(plane: np.ndarray, phase: np.ndarray, shell: np.ndarray, *, same_slot: bool) -> np.ndarray:
    """``+grid`` ISLs ``(E, 2)`` (sorted satellite index pairs) from plane labels and in-plane order.

    Parameters
    ----------
    plane
        Plane label per satellite (``-1``: no ISLs).  Planes are ordered by label within a shell.
    phase
        Slot index (``same_slot=True``) or argument of latitude [deg] (``same_slot=False``) per satellite.
    shell
        Shell label per satellite (``-1``: no ISLs); planes only link within a shell.
    """
    plane, shell = np.asarray(plane, dtype=np.int64), np.asarray(shell, dtype=np.int64)
    phase = np.asarray(phase, dtype=float)
    a_all, b_all = [], []
    for s in np.unique(shell[shell >= 0]):
        members = np.flatnonzero((shell == s) & (plane >= 0))
        labels = np.unique(plane[members])
        by_plane = []
        for p in labels:
            sats = members[plane[members] == p]
            sats = sats[np.argsort(phase[sats], kind="stable")]
            by_plane.append(sats)
            if len(sats) >= 3:  # in-plane ring
                a_all.append(sats)
                b_all.append(np.roll(sats, -1))
        if len(by_plane) < 2:
            continue
        for i, sats in enumerate(by_plane):
            nxt = by_plane[(i + 1) % len(by_plane)]
            if len(by_plane) == 2 and i == 1:
                break  # two planes: one set of cross links, not two
            if same_slot:
                lookup = {float(v): j for j, v in zip(nxt.tolist(), phase[nxt].tolist(), strict=True)}
                partner = np.array([lookup.get(float(v), -1) for v in phase[sats].tolist()], dtype=np.int64)
            else:
                order = np.argsort(phase[nxt], kind="stable")  # ties pick the same partner on every CPU
                ring = phase[nxt][order]
                x = phase[sats]
                k = np.searchsorted(ring, x) % len(ring)
                k_prev = (k - 1) % len(ring)
                d_next = np.abs((ring[k] - x + 180.0) % 360.0 - 180.0)
                d_prev = np.abs((ring[k_prev] - x + 180.0) % 360.0 - 180.0)
                partner = nxt[order][np.where(d_prev < d_next, k_prev, k)]
            ok = partner >= 0
            a_all.append(sats[ok])
            b_all.append(partner[ok])
    if not a_all:
        return np.empty((0, 2), dtype=np.int64)
    return _unique_pairs(np.concatenate(a_all), np.concatenate(b_all))


def orbit_planes(
    r_teme_km: np.ndarray, v_teme_km_s: np.ndarray, shell: np.ndarray, *, plane_gap_deg: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Plane labels and argument of latitude [deg] from one osculating state per satellite.

    Within each shell, right ascensions of the node are sorted on the circle
    and split where neighbours differ by more than ``plane_gap_deg``.
    """
    h = np.cross(r_teme_km, v_teme_km_s)
    raan = np.degrees(np.arctan2(h[:, 0], -h[:, 1])) % 360.0
    node = np.stack([np.cos(np.radians(raan)), np.sin(np.radians(raan)), np.zeros_like(raan)], axis=1)
    normal = h / np.linalg.norm(h, axis=1, keepdims=True)
    r_hat = r_teme_km / np.linalg.norm(r_teme_km, axis=1, keepdims=True)
    u = np.degrees(np.arctan2(np.einsum("ij,ij->i", np.cross(node, r_hat), normal), np.einsum("ij,ij->i", node, r_hat)))
    plane = np.full(len(raan), -1, dtype=np.int64)
    label = 0
    for s in np.unique(shell[shell >= 0]):
        members = np.flatnonzero((shell == s) & np.isfinite(raan))
        if not len(members):
            continue
        order = members[np.argsort(raan[members])]
        values = raan[order]
        gaps = np.diff(np.r_[values, values[0] + 360.0])
        start = (int(np.argmax(gaps)) + 1) % len(values)  # cut the circle at its widest gap
        order, values = np.roll(order, -start), np.roll(values, -start)
        steps = (np.diff(values) % 360.0) > plane_gap_deg
        plane[order] = label + np.concatenate([[0], np.cumsum(steps)])
        label = int(plane[order].max()) + 1
    return plane, u % 360.0


def isl_pairs(
    constellation, topology: str = "+grid", *, t_ref: np.datetime64 | None = None, in_service: np.ndarray | None = None
) -> np.ndarray:
    """ISLs ``(E, 2)`` of a :class:`~skyfence.orbits.constellation.Constellation` for a topology name."""
    if topology not in ISL_TOPOLOGIES:
        raise InputError(
            f"ISL topology {topology!r} is not one of {ISL_TOPOLOGIES}",
            field="isl",
            hint="use --isl +grid or --isl none",
        )
    n = len(constellation)
    use = np.ones(n, dtype=bool) if in_service is None else np.asarray(in_service, dtype=bool)
    if topology == "none" or n == 0:
        return np.empty((0, 2), dtype=np.int64)
    table = constellation.satellites
    shell = np.where(use, table["shell"].to_numpy(np.int64), -1)
    plane = table["plane"].to_numpy(np.int64)
    slot = table["slot"].to_numpy(np.int64)
    if ((plane >= 0) & (slot >= 0))[use].all():
        return plus_grid(np.where(use, plane, -1), slot, shell, same_slot=True)
    from skyfence.orbits.time import julian_date_utc

    if t_ref is None:
        t_ref = constellation.epoch_range[1]
    jd, fr = julian_date_utc(np.atleast_1d(np.asarray(t_ref, dtype="datetime64[ns]")))
    error, r, v = constellation.satrec_array.sgp4(jd, fr)
    r, v = r[:, 0], v[:, 0]
    shell = np.where(error[:, 0] == 0, shell, -1)
    found_plane, u = orbit_planes(r, v, shell)
    return plus_grid(found_plane, u, shell, same_slot=False)


def ground_links(
    sat_xyz_km: np.ndarray,
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    alt_km: np.ndarray | float = 0.0,
    *,
    min_elevation_deg: float | np.ndarray = DEFAULT_MIN_ELEVATION_DEG,
    max_range_km: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground-to-satellite links at one time: ``(ground_index, satellite_index, range_km)``, sorted by ground.

    ``sat_xyz_km`` is ``(N, 3)`` Earth-fixed [km] (NaN rows never link);
    ground points are WGS-84 geodetic.  Elevation is measured from the
    geodetic horizon (as :func:`skyfence.earth.geodesy.look_angles`).
    ``min_elevation_deg`` may be one value or one per ground point.
    """
    return GroundPoints(lat_deg, lon_deg, alt_km, min_elevation_deg).links(sat_xyz_km, max_range_km=max_range_km)


class GroundPoints:
    """Ground points prepared once (ECEF, local up, elevation mask) for :meth:`links` at many times."""

    def __init__(self, lat_deg, lon_deg, alt_km=0.0, min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG) -> None:
        from skyfence.earth.geodesy import enu_basis, geodetic_to_ecef

        lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=float))
        self.xyz_km = geodetic_to_ecef(lat, lon, np.broadcast_to(alt_km, lat.shape)).reshape(-1, 3)
        self.up = np.ascontiguousarray(enu_basis(lat, lon).reshape(-1, 3, 3)[:, 2, :])
        self.up_offset = np.einsum("ij,ij->i", self.up, self.xyz_km)[:, None]
        mask = np.broadcast_to(np.asarray(min_elevation_deg, dtype=float), lat.shape)
        self.sin_min = np.sin(np.radians(mask))

    def links(self, sat_xyz_km: np.ndarray, *, max_range_km: float | None = None):
        """``(ground_index, satellite_index, range_km)`` of satellites above the mask (sorted by ground)."""
        sat = np.asarray(sat_xyz_km, dtype=float)
        with np.errstate(invalid="ignore"):
            height = self.up @ sat.T - self.up_offset  # height above each local horizon plane [km]
            gi, si = np.nonzero(height > 0.0)  # NaN satellites compare False
        rng = np.linalg.norm(sat[si] - self.xyz_km[gi], axis=1)
        ok = height[gi, si] >= self.sin_min[gi] * rng
        if max_range_km is not None:
            ok &= rng <= max_range_km
        return gi[ok], si[ok], rng[ok]
