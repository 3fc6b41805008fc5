"""Time: UTC ``datetime64[ns]`` grids, Julian dates for SGP4, skyfield's timescale.

Times are UTC ``datetime64[ns]`` arrays everywhere in skyfence.  UT1-UTC and
leap seconds come from skyfield's built-in timescale (IERS data shipped inside
skyfield, no download), never from an approximation.

Beware of these limitations:

- skyfield's bundled table ends some months after the skyfield release; for
  later dates skyfield extrapolates UT1-UTC, which is good to a few
  milliseconds over a year (a few metres of Earth rotation at orbit radius).
- skyfield bundles no polar-motion table, so by default the pole is taken
  at the CIP (polar motion zero): Earth-fixed positions then differ from a
  full IERS ITRF by up to ~0.5 arcsec of rotation, about 15 m at LEO radius.
  :func:`install_polar_motion` adds IERS ``finals2000A.all`` polar motion.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from skyfence.errors import InputError

__all__ = [
    "default_start",
    "install_polar_motion",
    "iso_utc",
    "julian_date_utc",
    "parse_duration",
    "parse_time",
    "skyfield_time",
    "time_grid",
    "timescale",
]

_UNIX_EPOCH_JD = 2440587.5
_NS_PER_DAY = 86_400 * 10**9
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|m|min|h|hr|d|day|days)?\s*$", re.IGNORECASE)
_UNIT_NS = {
    "ms": 10**6,
    "s": 10**9,
    "sec": 10**9,
    "m": 60 * 10**9,
    "min": 60 * 10**9,
    "h": 3600 * 10**9,
    "hr": 3600 * 10**9,
    "d": _NS_PER_DAY,
    "day": _NS_PER_DAY,
    "days": _NS_PER_DAY,
}


@lru_cache(maxsize=1)
def timescale():
    """skyfield's timescale with its bundled IERS data (``builtin=True``: never downloads)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


def install_polar_motion(finals_path) -> None:
    """Install IERS polar motion from a ``finals2000A.all`` file on skyfence's timescale.

    From then on :func:`skyfence.orbits.propagate.teme_to_itrf_matrices` (and
    skyfield's own ``itrs`` frame) include it.  The file is the IERS Rapid
    Service product (https://datacenter.iers.org/, or ``maia.usno.navy.mil/ser7/finals2000A.all``).
    """
    from skyfield.data import iers

    with open(finals_path, "rb") as handle:
        mjd, x_arcsec, y_arcsec, _ = iers.parse_x_y_dut1_from_finals_all(handle)
    iers.install_polar_motion_table(timescale(), mjd + 2400000.5, x_arcsec, y_arcsec)


def parse_time(value: str | datetime | np.datetime64, *, field: str = "start") -> np.datetime64:
    """An ISO 8601 UTC time (``2025-09-23T12:00``, ``...Z``, ``+00:00``) as ``datetime64[ns]``.

    A timezone offset other than UTC is converted; a naive time is taken as UTC.
    """
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as error:
            why = "" if str(error).startswith("Invalid isoformat") else f": {error}"  # e.g. day is out of range
            raise InputError(
                f"cannot read time {text!r}{why}", field=field, hint="use ISO 8601 UTC, e.g. 2025-09-23T12:00:00Z"
            ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "ns")


def parse_duration(value: str | float | int | np.timedelta64, *, field: str = "duration") -> np.timedelta64:
    """``"6h"``, ``"90min"``, ``"15s"``, ``"1d"``, ``"250ms"`` (or, from Python, seconds as a number) ->
    ``timedelta64[ns]``.

    Text needs its unit: ``"24"`` is refused rather than silently read as 24 s (a user meaning 24 h gets one
    step).  This is the one duration parser: CLI options, scenario, sweep and chunked-run TOML keys all use it.

    >>> parse_duration("90min")
    np.timedelta64(5400000000000,'ns')
    >>> parse_duration("24", field="--duration")
    Traceback (most recent call last):
    ...
    skyfence.errors.InputError: field --duration: '24' has no unit (use e.g. 24h, 24min or 24s)
    """
    if isinstance(value, np.timedelta64):
        return value.astype("timedelta64[ns]")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return np.timedelta64(round(float(value) * 1e9), "ns")
    match = _DURATION.match(str(value))
    if not match:
        raise InputError(
            f"cannot read duration {value!r}", field=field, hint="use a number and a unit: 250ms, 15s, 90min, 6h, 1d"
        )
    number, unit = match.groups()
    if unit is None:
        raise InputError(
            f"{str(value).strip()!r} has no unit", field=field, hint=f"use e.g. {number}h, {number}min or {number}s"
        )
    return np.timedelta64(round(float(number) * _UNIT_NS[unit.lower()]), "ns")


def time_grid(
    start: str | datetime | np.datetime64,
    duration: str | float | np.timedelta64 | None = None,
    step: str | float | np.timedelta64 | None = None,
    *,
    end: str | datetime | np.datetime64 | None = None,
) -> np.ndarray:
    """Times ``start, start+step, ...`` up to and including ``start+duration`` (or ``end``) [UTC ``datetime64[ns]``].

    Give exactly one of ``duration`` and ``end``; an ``end`` before ``start`` is an error.  A zero span gives the
    single time ``start``.

    >>> time_grid("2026-08-18T12:00Z", "2m", "60s")
    array(['2026-08-18T12:00:00.000000000', '2026-08-18T12:01:00.000000000',
           '2026-08-18T12:02:00.000000000'], dtype='datetime64[ns]')
    >>> len(time_grid("2026-08-18T12:00Z", step="15s", end="2026-08-18T13:00Z"))
    241
    """
    t0 = parse_time(start)
    if step is None:
        raise InputError("no time step given", field="step", hint="e.g. --step 60s")
    if (duration is None) == (end is None):
        raise InputError("give exactly one of duration and end", field="duration")
    if end is not None:
        t1 = parse_time(end, field="end")
        if t1 < t0:
            raise InputError(f"end {iso_utc(t1)} is before start {iso_utc(t0)}", field="end", hint="swap them")
        span = t1 - t0
    else:
        span = parse_duration(duration, field="duration")  # type: ignore[arg-type]
    dt = parse_duration(step, field="step")
    if dt <= np.timedelta64(0, "ns"):
        raise InputError(f"step must be positive, got {step!r}", field="step", hint="e.g. --step 60s")
    if span < np.timedelta64(0, "ns"):
        raise InputError(f"duration must not be negative, got {duration!r}", field="duration")
    n = int(span // dt) + 1
    if n > 50_000_000:
        raise InputError(f"{n:,} time steps is too many", field="step", hint="use a longer step or a shorter span")
    return t0 + np.arange(n, dtype=np.int64) * dt


def default_start(epochs: tuple[np.datetime64, np.datetime64] | None) -> np.datetime64:
    """The newest element epoch rounded down to the minute, so a catalog is used near its epochs.

    ``epochs`` is a constellation's ``epoch_range`` (None when it is empty: an error).
    """
    if epochs is None:
        raise InputError("the constellation is empty", field="SOURCE")
    return epochs[1].astype("datetime64[m]").astype("datetime64[ns]")


def iso_utc(moment: np.datetime64 | datetime | str, unit: str = "s") -> str:
    """A UTC time as ISO 8601 with a ``Z``, truncated to ``unit`` (``"s"`` or ``"ms"``).

    >>> iso_utc(np.datetime64("2026-08-18T12:00:00.250"))
    '2026-08-18T12:00:00Z'
    >>> iso_utc("2026-08-18T14:00:00.250+02:00", unit="ms")
    '2026-08-18T12:00:00.250Z'
    """
    return str(parse_time(moment).astype(f"datetime64[{unit}]")) + "Z"


def julian_date_utc(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC Julian date of ``times`` split into (whole, fraction) as SGP4 expects.

    The split keeps nanosecond precision: ``whole`` is the JD of the preceding
    midnight (``xxx.5``), ``fraction`` the day fraction since then.  This is
    the same number skyfield passes to SGP4 (``t.whole`` and the UTC part of
    ``t.tai_fraction``), since SGP4 epochs are UTC (AIAA 2006-6753).
    """
    ns = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)
    days, rem = np.divmod(ns, _NS_PER_DAY)
    return days + _UNIX_EPOCH_JD, rem / _NS_PER_DAY


def skyfield_time(times: np.ndarray):
    """skyfield ``Time`` for UTC ``datetime64`` times (scalar or vector), exact to the nanosecond.

    Built as ``ts.utc(1970, 1, 1 + days, 0, 0, seconds)`` so that skyfield
    applies its own leap-second table.
    """
    ns = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)
    days, rem = np.divmod(ns, _NS_PER_DAY)
    return timescale().utc(1970, 1, 1 + days, 0, 0, rem / 1e9)
