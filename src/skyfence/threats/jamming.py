"""Jamming geometry: ground jammers against user terminals -- line of sight, off-axis gain, J/S per cell and time.

A jammer site (:class:`JammerSite`) has a position, a height above ground, an EIRP [dBW] spread over a bandwidth
[MHz], a band and an on/off schedule.  Bands (:data:`BANDS`):

``ku_downlink``
    Noise into the terminal's receive band (10.7-12.7 GHz): it competes with the satellite's downlink at the
    terminal, entering through the terminal antenna's *side lobes* (the terminal points at its satellite).
``ku_uplink``
    Noise into the satellite's receive band (14.0-14.5 GHz): it enters the satellite's receive beam and degrades
    every cell that beam serves (evaluated through the capacity layer's beams).
``gnss_l1``
    GNSS L1 (1575.42 MHz) jamming: no effect on the Ku links; cells in reach are flagged, and the detection layer
    (:class:`skyfence.detection.Context` ``gnss_jammers``, :func:`gnss_denied`) stops counting a terminal's reported
    position as evidence where and while GNSS is jammed or spoofed.

Geometry
--------
* **Line of sight** on a 4/3-Earth (ITU-R P.834 / P.452 standard refraction): a jammer at height ``h1`` reaches a
  terminal at ``h2`` only within the radio horizon ``d = sqrt(2 k a h1) + sqrt(2 k a h2)`` (``k = 4/3``,
  ``a = 6371 km``).  Two 10 m antennas: 26.1 km.  **Terrain is out of scope**: heights are above a smooth Earth,
  so a site on high ground takes the ground's elevation into its height, and mountains between jammer and terminal
  (Taiwan's Central Range) do not block anything here -- a conservative simplification for the defender.
* **Path loss**: free space over the straight-line distance, ``FSPL = 92.45 + 20 log10(d_km) + 20 log10(f_GHz)``.
* **Terminal antenna**: the gain toward the jammer from an off-axis envelope -- ITU-R S.465-6 (reference pattern
  of earth-station antennas; ``D/lambda`` from the diameter) or ITU-R S.580-6 (its design objective), or a flat
  phased-array sidelobe level given as a rejection below the peak gain (``pattern="sidelobe"``).
* **J/S**: ``J = EIRP_j - 10 log10(max(1, B_j / B_s)) - FSPL_j + G(phi_j)`` summed over jammers in sight and on
  schedule (only the part of a wider jammer's power inside the signal's bandwidth counts), against
  ``S = EIRP_sat - FSPL_sat + G_max`` from the serving satellite (the highest one).  The issue's hand cases:
  40 dBW at 10 km against +33 dBW per 250 MHz at 700 km with 30 dB of side-lobe rejection gives +13.9 dB; with
  40 dB, +3.9 dB.

Parameters without a public value -- a jammer's EIRP and bandwidth, the terminal's side-lobe rejection -- are
assumptions documented in ``docs/threats.md`` with sweeps.  The satellite downlink default
(:data:`DEFAULT_SAT_EIRP_DBW`, 33 dBW per 250 MHz) produces -142.9 dB(W/m^2) in 4 kHz at 700 km, below the
-140 dB(W/m^2)/4 kHz limit of ITU Radio Regulations Table 21-4 for arrival angles above 25 deg in 10.7-11.7 GHz.

References
----------
ITU-R P.834-9 (2017), Effects of tropospheric refraction on radiowave propagation (effective Earth radius).
ITU-R P.452-17 (2021), sec. 4.3 (median effective Earth radius factor k50 = 4/3 -- used worldwide here).
ITU-R S.465-6 (2010), Reference radiation pattern of earth station antennas in the FSS (2-31 GHz).
ITU-R S.580-6 (2004), Radiation diagrams for use as design objectives for antennas of earth stations.
ITU-R P.525-4 (2019), Calculation of free-space attenuation.
ITU Radio Regulations (2020), Article 21, Table 21-4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skyfence.errors import InputError
from skyfence.orbits.time import iso_utc

__all__ = [
    "BANDS",
    "BAND_FREQ_GHZ",
    "DEFAULT_SAT_EIRP_DBW",
    "DEFAULT_SIGNAL_BANDWIDTH_MHZ",
    "GNSS_JS_THRESHOLD_DB",
    "K_FACTOR",
    "PATTERNS",
    "JammerSite",
    "JammingMap",
    "TerminalAntenna",
    "eirp_summary",
    "fspl_db",
    "gnss_denied",
    "j_over_s_db",
    "jammers_from_records",
    "jamming_map",
    "off_axis_gain_dbi",
    "radio_horizon_km",
]

BANDS = ("ku_downlink", "ku_uplink", "gnss_l1")
#: Centre frequency per band [GHz]: Ku user downlink 10.7-12.7, Ku user uplink 14.0-14.5, GPS L1.
BAND_FREQ_GHZ = {"ku_downlink": 11.7, "ku_uplink": 14.25, "gnss_l1": 1.57542}
#: Effective Earth-radius factor (ITU-R P.834 / P.452 median).
K_FACTOR = 4.0 / 3.0
#: Mean Earth radius the ITU-R refraction recommendations use [km].
EARTH_RADIUS_KM = 6371.0
PATTERNS = ("s465", "s580", "sidelobe")
#: Satellite downlink EIRP per signal bandwidth [dBW] and that bandwidth [MHz] (see the module docstring).
DEFAULT_SAT_EIRP_DBW = 33.0
DEFAULT_SIGNAL_BANDWIDTH_MHZ = 250.0
#: Received GPS L1 C/A power at the ground, minimum specified [dBW] (IS-GPS-200N, sec. 3.3.1.6: -158.5 dBW).
GNSS_L1_SIGNAL_DBW = -158.5
#: J/S [dB] over the minimum L1 C/A power at which a receiver is taken as jammed (the flag for the detection layer).
GNSS_JS_THRESHOLD_DB = 30.0


def radio_horizon_km(h1_m, h2_m=0.0, *, k_factor: float = K_FACTOR) -> np.ndarray:
    """Radio horizon [km] between antennas ``h1_m`` and ``h2_m`` [m] above a smooth Earth of radius ``k a``.

    >>> round(float(radio_horizon_km(10.0, 10.0)), 1)
    26.1
    """
    ka_m = k_factor * EARTH_RADIUS_KM * 1000.0
    h1 = np.maximum(np.asarray(h1_m, dtype=float), 0.0)
    h2 = np.maximum(np.asarray(h2_m, dtype=float), 0.0)
    return (np.sqrt(2.0 * ka_m * h1) + np.sqrt(2.0 * ka_m * h2)) / 1000.0


def fspl_db(distance_km, freq_ghz) -> np.ndarray:
    """Free-space path loss [dB] (ITU-R P.525): ``92.45 + 20 log10(d_km) + 20 log10(f_GHz)``."""
    d = np.maximum(np.asarray(distance_km, dtype=float), 1e-6)
    return 92.45 + 20.0 * np.log10(d) + 20.0 * np.log10(np.asarray(freq_ghz, dtype=float))


def j_over_s_db(
    jammer_eirp_dbw,
    jammer_range_km,
    sat_eirp_dbw,
    sat_range_km,
    sidelobe_rejection_db,
    *,
    jammer_bandwidth_mhz=DEFAULT_SIGNAL_BANDWIDTH_MHZ,
    signal_bandwidth_mhz=DEFAULT_SIGNAL_BANDWIDTH_MHZ,
) -> np.ndarray:
    """J/S [dB] at a terminal: one jammer through the side lobes against the satellite in the main lobe.

    The frequency cancels (both links at the same frequency).  ``sidelobe_rejection_db`` is the peak gain minus
    the gain toward the jammer.

    >>> round(float(j_over_s_db(40.0, 10.0, 33.0, 700.0, 30.0)), 1)
    13.9
    """
    in_band = -10.0 * np.log10(
        np.maximum(np.asarray(jammer_bandwidth_mhz, float) / np.asarray(signal_bandwidth_mhz, float), 1.0)
    )
    spreading = 20.0 * np.log10(np.asarray(sat_range_km, float) / np.asarray(jammer_range_km, float))
    return (
        np.asarray(jammer_eirp_dbw, float)
        + in_band
        - np.asarray(sat_eirp_dbw, float)
        + spreading
        - np.asarray(sidelobe_rejection_db, float)
    )


@dataclass(frozen=True)
class TerminalAntenna:
    """The user terminal's antenna as the jammer sees it.

    ``pattern``: ``"s465"`` / ``"s580"`` (ITU-R envelopes; ``diameter_m`` sets ``D/lambda``) or ``"sidelobe"``
    (peak gain inside ``main_lobe_deg`` of boresight, ``sidelobe_rejection_db`` below the peak outside).  Defaults:
    peak 33 dBi and a 0.5 m aperture (a Starlink-class flat terminal: ASSUMPTION, see ``docs/threats.md``).
    """

    pattern: str = "s465"
    g_max_dbi: float = 33.0
    diameter_m: float = 0.5
    sidelobe_rejection_db: float = 30.0
    main_lobe_deg: float = 3.0
    height_m: float = 2.0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise InputError(f"antenna pattern {self.pattern!r} is not one of {PATTERNS}", field="pattern")
        for key, value, lo, hi in (
            ("g_max_dbi", self.g_max_dbi, 0.0, 70.0),
            ("diameter_m", self.diameter_m, 0.05, 30.0),
            ("sidelobe_rejection_db", self.sidelobe_rejection_db, 0.0, 80.0),
            ("main_lobe_deg", self.main_lobe_deg, 0.01, 90.0),
            ("height_m", self.height_m, 0.0, 30000.0),
        ):
            if not (np.isfinite(value) and lo <= value <= hi):
                raise InputError(f"{key} must be in [{lo:g}, {hi:g}], got {value}", field=key)


def off_axis_gain_dbi(off_axis_deg, antenna: TerminalAntenna, freq_ghz: float) -> np.ndarray:
    """Gain [dBi] of ``antenna`` at ``off_axis_deg`` from boresight, never above its peak gain.

    S.465-6: ``D/lambda >= 50``: ``32 - 25 log phi`` for ``phi_min <= phi < 48``, ``phi_min = max(1, 100 lambda/D)``;
    ``D/lambda < 50``: ``52 - 10 log(D/lambda) - 25 log phi``, ``phi_min = max(2, 114 (D/lambda)^-1.09)``;
    -10 dBi from 48 to 180 deg.  S.580-6 takes 29 instead of 32 (and 49 instead of 52), S.465 beyond 20 deg.
    """
    phi = np.abs(np.asarray(off_axis_deg, dtype=float))
    if antenna.pattern == "sidelobe":
        return np.where(
            phi < antenna.main_lobe_deg, antenna.g_max_dbi, antenna.g_max_dbi - antenna.sidelobe_rejection_db
        )
    wavelength_m = 0.299792458 / freq_ghz
    d_lambda = antenna.diameter_m / wavelength_m
    if d_lambda >= 50:
        phi_min = max(1.0, 100.0 / d_lambda)
        head = 32.0
    else:
        phi_min = max(2.0, 114.0 * d_lambda**-1.09)
        head = 52.0 - 10.0 * math.log10(d_lambda)
    if antenna.pattern == "s580":
        near = np.where(phi <= 20.0, head - 3.0, head)
    else:
        near = np.full(phi.shape, head)
    with np.errstate(divide="ignore"):
        envelope = near - 25.0 * np.log10(np.maximum(phi, phi_min))
    gain = np.where(phi >= 48.0, -10.0, envelope)
    return np.minimum(gain, antenna.g_max_dbi)


def _as_times(values: Sequence[object], key: str) -> np.ndarray:
    from skyfence.orbits.time import parse_time

    return np.array(
        [parse_time(v, field=key) if isinstance(v, str) else np.asarray(v, dtype="datetime64[ns]") for v in values],
        dtype="datetime64[ns]",
    )


@dataclass(frozen=True)
class JammerSite:
    """A jammer: position (WGS-84 [deg]), height above ground [m], EIRP [dBW], bandwidth [MHz], band, schedule.

    ``schedule`` is a sequence of ``(start, end)`` UTC pairs (ISO strings or ``datetime64``); empty = always on.
    Every field is checked; ``key`` prefixes the field name in error messages (``jammers[2]``).
    """

    name: str
    lat_deg: float
    lon_deg: float
    eirp_dbw: float
    bandwidth_mhz: float = DEFAULT_SIGNAL_BANDWIDTH_MHZ
    height_m: float = 10.0
    band: str = "ku_downlink"
    schedule: tuple[tuple[object, object], ...] = ()
    key: str = field(default="", compare=False)
    _on: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pre = f"{self.key}." if self.key else ""

        def bad(name: str, message: str, hint: str | None = None) -> InputError:
            return InputError(message, field=f"{pre}{name}", hint=hint)

        for name, value, lo, hi, unit in (
            ("lat_deg", self.lat_deg, -90.0, 90.0, "deg"),
            ("lon_deg", self.lon_deg, -180.0, 360.0, "deg"),
            ("height_m", self.height_m, 0.0, 30_000.0, "m"),
            ("eirp_dbw", self.eirp_dbw, -50.0, 120.0, "dBW"),
        ):
            if not isinstance(value, int | float) or not math.isfinite(value) or not lo <= value <= hi:
                raise bad(name, f"{name} must be a finite number in [{lo:g}, {hi:g}] {unit}, got {value}")
        if (
            not isinstance(self.bandwidth_mhz, int | float)
            or not math.isfinite(self.bandwidth_mhz)
            or self.bandwidth_mhz <= 0
        ):
            raise bad("bandwidth_mhz", f"bandwidth_mhz must be positive, got {self.bandwidth_mhz}", "e.g. 250")
        if self.band not in BANDS:
            raise bad("band", f"band {self.band!r} is not one of {BANDS}")
        pairs = []
        for i, item in enumerate(self.schedule):
            if len(item) != 2:
                raise bad(f"schedule[{i}]", "each schedule entry needs a start and an end")
            start, end = _as_times(list(item), f"{pre}schedule[{i}]")
            if end < start:
                raise bad(f"schedule[{i}]", f"ends ({item[1]}) before it starts ({item[0]})", "swap start and end")
            pairs.append((start, end))
        object.__setattr__(self, "_on", np.array(pairs, dtype="datetime64[ns]").reshape(-1, 2))

    @property
    def freq_ghz(self) -> float:
        return BAND_FREQ_GHZ[self.band]

    def active(self, times: np.ndarray) -> np.ndarray:
        """Boolean per time: on schedule (start inclusive, end inclusive)."""
        times = np.asarray(times, dtype="datetime64[ns]")
        if not len(self._on):
            return np.ones(times.shape, dtype=bool)
        inside = (times[:, None] >= self._on[None, :, 0]) & (times[:, None] <= self._on[None, :, 1])
        return np.asarray(inside.any(axis=1), dtype=bool)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "height_m": self.height_m,
            "eirp_dbw": self.eirp_dbw,
            "bandwidth_mhz": self.bandwidth_mhz,
            "band": self.band,
            "schedule": [[iso_utc(a), iso_utc(b)] for a, b in self._on],
        }


def eirp_summary(sites: Iterable[JammerSite]) -> dict[str, Any]:
    """How to report the EIRP of a set of jammers without averaging decibels.

    ``eirp_dbw`` is the jammers' common EIRP, or None when they differ ("mixed"); ``eirp_min_dbw`` and
    ``eirp_max_dbw`` bound them; ``eirp_power_mean_dbw`` is 10 log10 of the mean power in watts (one 80 and five
    70 dBW jammers: 74.0 dBW; the arithmetic mean of the dB values, 71.7 dBW, is a power no jammer has);
    ``eirp_label`` says it in words: ``"70 dBW"`` or ``"mixed (70-80 dBW)"``.
    """
    values = np.array([float(s.eirp_dbw) for s in sites], dtype=float)
    if values.size == 0:
        return {
            "eirp_dbw": None,
            "eirp_min_dbw": None,
            "eirp_max_dbw": None,
            "eirp_power_mean_dbw": None,
            "eirp_label": "no jammers",
        }
    lo, hi = float(values.min()), float(values.max())
    power_mean = float(10.0 * np.log10(np.mean(10.0 ** (values / 10.0))))
    same = lo == hi
    return {
        "eirp_dbw": lo if same else None,
        "eirp_min_dbw": lo,
        "eirp_max_dbw": hi,
        "eirp_power_mean_dbw": lo if same else power_mean,
        "eirp_label": f"{lo:g} dBW" if same else f"mixed ({lo:g}\u2013{hi:g} dBW)",
    }


def jammers_from_records(records: Iterable[dict], *, key: str = "jammers") -> list[JammerSite]:
    """Jammer sites from dictionaries (TOML tables, JSON objects); unknown keys fail naming the key."""
    allowed = {"name", "lat_deg", "lon_deg", "lat", "lon", "eirp_dbw", "bandwidth_mhz", "height_m", "band", "schedule"}
    sites = []
    for i, rec in enumerate(records):
        where = f"{key}[{i}]"
        if not isinstance(rec, dict):
            raise InputError("each jammer must be a table", field=where)
        unknown = sorted(set(rec) - allowed)
        if unknown:
            raise InputError(
                "unknown key", field=f"{where}.{unknown[0]}", hint=f"allowed: {', '.join(sorted(allowed))}"
            )
        try:
            lat = rec["lat_deg"] if "lat_deg" in rec else rec["lat"]
            lon = rec["lon_deg"] if "lon_deg" in rec else rec["lon"]
            eirp = rec["eirp_dbw"]
        except KeyError as error:
            raise InputError("required key is missing", field=f"{where}.{error.args[0]}") from None
        schedule = tuple(tuple(s.values()) if isinstance(s, dict) else tuple(s) for s in rec.get("schedule", ()))
        sites.append(
            JammerSite(
                name=str(rec.get("name", f"jammer {i + 1}")),
                lat_deg=_number(lat, f"{where}.lat_deg"),
                lon_deg=_number(lon, f"{where}.lon_deg"),
                eirp_dbw=_number(eirp, f"{where}.eirp_dbw"),
                bandwidth_mhz=_number(rec.get("bandwidth_mhz", DEFAULT_SIGNAL_BANDWIDTH_MHZ), f"{where}.bandwidth_mhz"),
                height_m=_number(rec.get("height_m", 10.0), f"{where}.height_m"),
                band=str(rec.get("band", "ku_downlink")),
                schedule=schedule,
                key=where,
            )
        )
    return sites


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"expected a number, got {value!r}", field=key)
    try:
        return float(value)
    except ValueError:
        raise InputError(f"expected a number, got {value!r}", field=key) from None


@dataclass(frozen=True, eq=False)
class JammingMap:
    """J/S per ``(time, cell)`` from ``ku_downlink`` jammers, and the GNSS flag per ``(time, cell)``.

    ``js_db`` is -inf where no jammer is in sight and on, NaN where no satellite serves the cell.
    ``sat_range_km`` is the serving satellite's slant range (NaN where none).
    """

    cells: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    times: np.ndarray
    js_db: np.ndarray
    jammer_dbw: np.ndarray
    signal_dbw: np.ndarray
    sat_range_km: np.ndarray
    gnss_jammed: np.ndarray
    settings: dict = field(default_factory=dict)

    def share_above(self, threshold_db: float) -> np.ndarray:
        """Per cell: share of the served time steps with J/S >= ``threshold_db``."""
        served = np.isfinite(self.signal_dbw)
        hit = np.where(served, self.js_db >= threshold_db, False)
        return hit.sum(axis=0) / np.maximum(served.sum(axis=0), 1)


def _jammer_power_dbw(
    jammers: Sequence[JammerSite],
    lat: np.ndarray,
    lon: np.ndarray,
    ground_xyz: np.ndarray,
    pointing: np.ndarray,
    antenna: TerminalAntenna,
    signal_bandwidth_mhz: float,
    on: np.ndarray,
) -> np.ndarray:
    """Jammer power [dBW] into each terminal: ``(time, cell)``; -inf where none is in sight and on."""
    from skyfence.earth.geodesy import geodetic_to_ecef
    from skyfence.network.ground import great_circle_km

    total_w = np.zeros(pointing.shape[:2])
    for j, site in enumerate(jammers):
        xyz = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.height_m / 1000.0)
        vec = xyz[None, :] - ground_xyz  # cell -> jammer [km]
        dist = np.linalg.norm(vec, axis=1)
        in_sight = great_circle_km(site.lat_deg, site.lon_deg, lat, lon) <= radio_horizon_km(
            site.height_m, antenna.height_m
        )
        if not in_sight.any():
            continue
        unit = vec / np.maximum(dist, 1e-9)[:, None]
        cos_phi = np.einsum("tcx,cx->tc", pointing, unit)
        phi = np.degrees(np.arccos(np.clip(cos_phi, -1.0, 1.0)))
        gain = off_axis_gain_dbi(phi, antenna, site.freq_ghz)
        in_band = -10.0 * math.log10(max(site.bandwidth_mhz / signal_bandwidth_mhz, 1.0))
        p_dbw = site.eirp_dbw + in_band - fspl_db(dist, site.freq_ghz)[None, :] + gain
        p_w = np.where(in_sight[None, :] & on[:, j, None], 10.0 ** (p_dbw / 10.0), 0.0)
        total_w += np.nan_to_num(p_w)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(total_w)


def _gnss_reach(site: JammerSite, lat, lon, receiver_height_m: float, threshold_db: float) -> np.ndarray:
    """Points where a GNSS L1 jammer is in sight (4/3-Earth horizon) with J/S >= ``threshold_db`` over the minimum
    specified L1 C/A power (omnidirectional 0 dBi receiver)."""
    from skyfence.earth.geodesy import geodetic_to_ecef
    from skyfence.network.ground import great_circle_km

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    in_sight = great_circle_km(site.lat_deg, site.lon_deg, lat, lon) <= radio_horizon_km(
        site.height_m, receiver_height_m
    )
    ground = geodetic_to_ecef(lat, lon, receiver_height_m / 1000.0).reshape(-1, 3)
    dist = np.linalg.norm(
        geodetic_to_ecef(site.lat_deg, site.lon_deg, site.height_m / 1000.0)[None, :] - ground, axis=1
    )
    js = site.eirp_dbw - fspl_db(dist, site.freq_ghz) - GNSS_L1_SIGNAL_DBW
    return np.asarray(in_sight & (js >= threshold_db), dtype=bool).reshape(lat.shape)


def gnss_denied(
    jammers: Sequence[JammerSite],
    lat_deg,
    lon_deg,
    times,
    *,
    receiver_height_m: float = 2.0,
    threshold_db: float = GNSS_JS_THRESHOLD_DB,
) -> np.ndarray:
    """Per point (one time each): GNSS is jammed there -- a ``gnss_l1`` jammer is on, in sight and at least
    ``threshold_db`` above the L1 signal.  The same rule as :func:`jamming_map`'s ``gnss_jammed``, per point; the
    detection layer uses it to discount position evidence where GNSS cannot be trusted."""
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=float))
    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    out = np.zeros(lat.shape, dtype=bool)
    ok = np.isfinite(lat) & np.isfinite(lon)
    for site in (j for j in jammers if j.band == "gnss_l1"):
        hit = np.zeros(lat.shape, dtype=bool)
        hit[ok] = _gnss_reach(site, lat[ok], lon[ok], receiver_height_m, threshold_db)
        out |= hit & site.active(times)
    return out


def jamming_map(
    constellation,
    cells: np.ndarray,
    times: np.ndarray,
    jammers: Sequence[JammerSite],
    *,
    antenna: TerminalAntenna | None = None,
    sat_eirp_dbw: float = DEFAULT_SAT_EIRP_DBW,
    signal_bandwidth_mhz: float = DEFAULT_SIGNAL_BANDWIDTH_MHZ,
    min_elevation_deg: float = 25.0,
    gnss_js_threshold_db: float = GNSS_JS_THRESHOLD_DB,
) -> JammingMap:
    """J/S of Ku-downlink jammers at terminals in each cell (pointing at their highest satellite), per time.

    GNSS L1 jammers flag a cell while in sight and on with J/S >= ``gnss_js_threshold_db`` over the minimum
    specified L1 C/A power (omnidirectional 0 dBi antenna).  ``ku_uplink`` jammers act on satellites' receive
    beams and are evaluated by the capacity layer, not here.
    """
    from skyfence.coverage.visibility import GroundGrid, iter_visibility
    from skyfence.earth import cells as h3cells
    from skyfence.earth.geodesy import geodetic_to_ecef

    antenna = antenna or TerminalAntenna()
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    times = np.asarray(times, dtype="datetime64[ns]")
    lat, lon = h3cells.cell_centers(cells)
    ground = geodetic_to_ecef(lat, lon, antenna.height_m / 1000.0)
    ku = [j for j in jammers if j.band == "ku_downlink"]
    gnss = [j for j in jammers if j.band == "gnss_l1"]
    n_t, n_c = len(times), len(cells)
    js = np.full((n_t, n_c), np.nan)
    jam = np.full((n_t, n_c), -np.inf)
    sig = np.full((n_t, n_c), np.nan)
    rng_km = np.full((n_t, n_c), np.nan)
    gnss_flag = np.zeros((n_t, n_c), dtype=bool)
    on_ku = np.stack([j.active(times) for j in ku], axis=1) if ku else np.zeros((n_t, 0), dtype=bool)
    grid = GroundGrid.from_latlon(lat, lon)
    for chunk in iter_visibility(
        constellation, grid, times, min_elevation_deg=min_elevation_deg, k=1, keep_positions=True
    ):
        assert chunk.best_sat is not None and chunk.position_itrf_km is not None  # k = 1 asked for
        best = chunk.best_sat[:, :, 0]  # (time, cell)
        served = best >= 0
        pos = chunk.position_itrf_km  # (sat, time, 3)
        t_index = np.arange(len(chunk.times))[:, None]
        sat_xyz = pos[np.maximum(best, 0), t_index]  # (time, cell, 3)
        vec = sat_xyz - ground[None, :, :]
        dist = np.linalg.norm(vec, axis=2)
        pointing = vec / np.maximum(dist, 1e-9)[:, :, None]
        s_dbw = sat_eirp_dbw - fspl_db(dist, BAND_FREQ_GHZ["ku_downlink"]) + antenna.g_max_dbi
        j_dbw = _jammer_power_dbw(
            ku, lat, lon, ground, pointing, antenna, signal_bandwidth_mhz, on_ku[chunk.time_slice]
        )
        sl = chunk.time_slice
        sig[sl] = np.where(served, s_dbw, np.nan)
        rng_km[sl] = np.where(served, dist, np.nan)
        jam[sl] = j_dbw
        js[sl] = np.where(served, j_dbw - s_dbw, np.nan)
    for site in gnss:
        reach = _gnss_reach(site, lat, lon, antenna.height_m, gnss_js_threshold_db)
        gnss_flag |= site.active(times)[:, None] & reach[None, :]
    settings = {
        "sat_eirp_dbw": sat_eirp_dbw,
        "signal_bandwidth_mhz": signal_bandwidth_mhz,
        "antenna": antenna.__dict__.copy(),
        "min_elevation_deg": min_elevation_deg,
        "jammers": [j.to_dict() for j in jammers],
        "k_factor": K_FACTOR,
        "gnss_js_threshold_db": gnss_js_threshold_db,
    }
    return JammingMap(cells, lat, lon, times, js, jam, sig, rng_km, gnss_flag, settings)
