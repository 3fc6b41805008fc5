"""Propagation: SGP4 for every satellite at once, TEME -> ITRF with skyfield's Earth orientation.

``sgp4``'s ``SatrecArray`` evaluates all element sets at all times in C++.
Its TEME output is rotated to ITRF with one 3x3 matrix per time step,
computed once for the whole constellation (:func:`teme_to_itrf_matrices`;
UT1 from skyfield's timescale).  The matrix equals the chain skyfield applies
in ``EarthSatellite.at(t).frame_xyz(itrs)``, so positions agree with skyfield
to floating-point precision (tests check < 1 m on a whole real catalog).

Per-element failures are data: SGP4 error codes (1-6, see
:data:`SGP4_ERROR_MEANINGS`) come back in an ``error`` variable and the
positions are NaN; a bad call (no times, unsorted times) raises
:class:`~skyfence.errors.InputError`.

References
----------
Vallado, D. A., Crawford, P., Hujsak, R., Kelso, T. S. (2006). Revisiting
Spacetrack Report #3. AIAA 2006-6753 (SGP4 and the TEME frame, Appendix C).
Rhodes, B. (2019). Skyfield: High precision research-grade positions for
planets and Earth satellites generator. ASCL 1907.024.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import numba
import numpy as np
import xarray as xr

from skyfence._threads import overlap_pool
from skyfence.earth.geodesy import ecef_to_geodetic
from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation
from skyfence.orbits.time import julian_date_utc, skyfield_time

__all__ = [
    "SGP4_ERROR_MEANINGS",
    "PositionChunk",
    "iter_positions",
    "propagate",
    "teme_to_itrf_matrices",
]

#: SGP4 error codes (python-sgp4 ``SGP4_ERRORS``; Vallado et al. 2006).
SGP4_ERROR_MEANINGS = {
    0: "ok",
    1: "mean eccentricity out of range 0 <= e < 1",
    2: "mean motion below zero",
    3: "perturbed eccentricity out of range",
    4: "semilatus rectum below zero",
    5: "epoch elements are sub-orbital",
    6: "satellite has decayed",
}

#: Satellite x time pairs per chunk by default (~12 MB of float64 positions): small enough that SGP4 of one
#: chunk overlaps the rotation of the previous one, large enough that per-chunk overhead stays negligible.
DEFAULT_CHUNK_PAIRS = 500_000


def teme_to_itrf_matrices(times: np.ndarray) -> np.ndarray:
    """Rotation matrices TEME -> ITRF, shape ``(n_times, 3, 3)``.

    ``R = W(t) @ Rz(-theta_GMST1982(UT1))``: TEME -> pseudo-Earth-fixed by the
    1982 sidereal angle on UT1, then polar motion ``W`` (Vallado et al. 2006,
    sec. "TEME" and Appendix C).  This is algebraically the chain skyfield
    applies, ``itrs.rotation_at(t) @ TEME.rotation_at(t).T`` -- the
    precession-nutation matrix and GAST cancel -- so it matches skyfield to
    1e-15 without evaluating the 1,365-term nutation series.  UT1 comes from
    skyfield's timescale; polar motion from its table when one is installed
    (:func:`skyfence.orbits.time.install_polar_motion`), else it is zero, as
    in skyfield's built-in timescale.
    """
    from skyfield.functions import rot_z
    from skyfield.sgp4lib import theta_GMST1982

    t = skyfield_time(np.atleast_1d(times))
    theta, _ = theta_GMST1982(t.whole, t.ut1_fraction)
    earth_rotation = np.asarray(rot_z(-theta)).reshape(3, 3, -1)  # (3, 3, n)
    polar = np.asarray(t.polar_motion_matrix())
    if polar.ndim == 2:
        return np.einsum("ij,jkn->nik", polar, earth_rotation)
    return np.einsum("ijn,jkn->nik", polar, earth_rotation)


@dataclass(frozen=True)
class PositionChunk:
    """Positions of all satellites over a slice of the time grid.

    ``position_itrf_km`` has shape ``(satellite, time, 3)``; ``error`` is the
    SGP4 error code per ``(satellite, time)`` (0 = ok; positions NaN otherwise).
    """

    time_slice: slice
    times: np.ndarray
    position_itrf_km: np.ndarray
    error: np.ndarray


def _check_times(times: np.ndarray) -> np.ndarray:
    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    if times.ndim != 1 or times.size == 0:
        raise InputError("need a 1-D array of at least one time", field="times")
    if np.isnat(times).any():
        raise InputError("times contain NaT", field="times")
    return times


@numba.njit(nogil=True, cache=True)
def _rotate(r_teme, error, rotation, out):  # pragma: no cover - compiled
    """``out[s, t] = rotation[t] @ r_teme[s, t]``; NaN where SGP4 failed."""
    n_sat, n_time = r_teme.shape[0], r_teme.shape[1]
    for s in range(n_sat):
        for t in range(n_time):
            if error[s, t] != 0:
                out[s, t, 0] = out[s, t, 1] = out[s, t, 2] = np.nan
                continue
            x, y, z = r_teme[s, t, 0], r_teme[s, t, 1], r_teme[s, t, 2]
            for i in range(3):
                out[s, t, i] = rotation[t, i, 0] * x + rotation[t, i, 1] * y + rotation[t, i, 2] * z


def _to_itrf(chunk: slice, times: np.ndarray, error: np.ndarray, r_teme: np.ndarray) -> PositionChunk:
    r_itrf = np.empty_like(r_teme)
    _rotate(r_teme, error, teme_to_itrf_matrices(times), r_itrf)
    return PositionChunk(chunk, times, r_itrf, error.astype(np.uint8, copy=False))


def iter_positions(
    constellation: Constellation,
    times: np.ndarray,
    *,
    chunk_steps: int | None = None,
) -> Iterator[PositionChunk]:
    """Stream ITRF positions over time chunks.

    SGP4 (which holds the GIL) runs on the calling thread; the frame
    rotation of the previous chunk runs meanwhile in a worker thread in
    compiled code that releases the GIL, so the two overlap on two cores
    (under a one-core :func:`skyfence._threads.thread_budget` they run one
    after the other on the calling thread).
    At most two chunks of positions are in memory.

    Parameters
    ----------
    constellation
        The satellites.
    times
        UTC ``datetime64`` times, 1-D.
    chunk_steps
        Time steps per chunk; default keeps satellites x steps near
        :data:`DEFAULT_CHUNK_PAIRS`.
    """
    times = _check_times(times)
    n_sat = len(constellation)
    if chunk_steps is None:
        chunk_steps = max(1, DEFAULT_CHUNK_PAIRS // max(n_sat, 1))
    if chunk_steps < 1:
        raise InputError(f"chunk_steps must be >= 1, got {chunk_steps}", field="chunk_steps")
    if n_sat == 0:
        for start in range(0, len(times), chunk_steps):
            t = times[start : start + chunk_steps]
            yield PositionChunk(
                slice(start, start + len(t)), t, np.empty((0, len(t), 3)), np.empty((0, len(t)), np.uint8)
            )
        return
    satrecs = constellation.satrec_array
    with overlap_pool("skyfence-itrf") as pool:
        pending: Future[PositionChunk] | None = None
        for start in range(0, len(times), chunk_steps):
            chunk = slice(start, min(start + chunk_steps, len(times)))
            t = times[chunk]
            jd, fr = julian_date_utc(t)
            error, r_teme, _ = satrecs.sgp4(jd, fr)
            future = pool.submit(_to_itrf, chunk, t, error, r_teme)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def propagate(
    constellation: Constellation,
    times: np.ndarray,
    *,
    geodetic: bool = True,
    chunk_steps: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Positions of every satellite at every time, as an xarray Dataset.

    Returns
    -------
    xarray.Dataset
        Dims ``(satellite, time, xyz)``.  ``position_itrf`` [km];
        with ``geodetic=True`` also ``lat`` [deg], ``lon`` [deg] and ``alt``
        [km] on WGS-84; ``error`` (SGP4 code, 0 = ok).  Coordinates along
        ``satellite``: ``norad_id``, ``name``, ``shell``, ``plane``.

    ``progress`` is called with the number of time steps finished after each
    chunk (for progress bars).
    """
    times = _check_times(times)
    n_sat, n_time = len(constellation), len(times)
    position = np.empty((n_sat, n_time, 3), dtype=float)
    error = np.empty((n_sat, n_time), dtype=np.uint8)
    lat = lon = alt = None
    if geodetic:
        lat, lon, alt = (np.empty((n_sat, n_time), dtype=float) for _ in range(3))
    for chunk in iter_positions(constellation, times, chunk_steps=chunk_steps):
        position[:, chunk.time_slice] = chunk.position_itrf_km
        error[:, chunk.time_slice] = chunk.error
        if geodetic:
            la, lo, al = ecef_to_geodetic(chunk.position_itrf_km)
            lat[:, chunk.time_slice] = la  # type: ignore[index]
            lon[:, chunk.time_slice] = lo  # type: ignore[index]
            alt[:, chunk.time_slice] = al  # type: ignore[index]
        if progress is not None:
            progress(len(chunk.times))
    return _dataset(constellation, times, position, error, lat, lon, alt)


def _dataset(constellation, times, position, error, lat, lon, alt) -> xr.Dataset:
    import sgp4
    import skyfield

    table = constellation.satellites
    dims2 = ("satellite", "time")
    data_vars = {
        "position_itrf": (
            ("satellite", "time", "xyz"),
            position,
            {"units": "km", "long_name": "position in ITRF (Earth-fixed)", "frame": "ITRF"},
        ),
        "error": (
            dims2,
            error,
            {
                "long_name": "SGP4 error code (0 = ok; position NaN otherwise)",
                "flag_values": np.arange(7, dtype=np.uint8),
                "flag_meanings": " ".join(v.replace(" ", "_") for v in SGP4_ERROR_MEANINGS.values()),
            },
        ),
    }
    if lat is not None:
        data_vars["lat"] = (dims2, lat, {"units": "degrees_north", "long_name": "WGS-84 geodetic latitude"})
        data_vars["lon"] = (dims2, lon, {"units": "degrees_east", "long_name": "longitude"})
        data_vars["alt"] = (dims2, alt, {"units": "km", "long_name": "height above the WGS-84 ellipsoid"})
    coords = {
        "satellite": np.arange(len(constellation), dtype=np.int64),
        "time": times,
        "xyz": np.array(["x", "y", "z"]),
        "norad_id": ("satellite", table["norad_id"].to_numpy(np.int64)),
        "name": ("satellite", table["name"].to_numpy(dtype=str)),
        "shell": ("satellite", table["shell"].to_numpy(np.int64)),
        "plane": ("satellite", table["plane"].to_numpy(np.int64)),
    }
    attrs = {
        "title": f"SGP4 positions of {constellation.name}",
        "source": constellation.source,
        "propagator": f"SGP4 (python-sgp4 {sgp4.__version__}, WGS-72 constants)",
        "frames": f"TEME -> ITRF via skyfield {skyfield.__version__} (built-in IERS UT1 and polar motion)",
        "Conventions": "CF-1.10",
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
