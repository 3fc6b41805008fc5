"""Walker constellations and the filed geometries of the broadband mega-constellations.

A *shell* is a Walker pattern ``i: T/P/F`` at one altitude: ``P`` circular
orbital planes at inclination ``i``, ``S = T/P`` satellites per plane, and a
phasing factor ``F`` that staggers neighbouring planes.  With the planes'
right ascensions of the ascending node spread over ``raan_spread_deg``
(360 deg for a Walker *delta* pattern, 180 deg for a Walker *star* / polar
pattern like OneWeb's)::

    RAAN(p)        = p * raan_spread_deg / P                        [deg]
    M(p, s)        = s * 360 / S  +  p * F * 360 / T   (mod 360)    [deg]

for plane ``p = 0 .. P-1`` and slot ``s = 0 .. S-1``.  The orbits are circular
(eccentricity 0, argument of perigee 0) so the mean anomaly ``M`` is also the
argument of latitude.

:func:`walker` turns shells into a :class:`~skyfence.orbits.constellation.Constellation`
of SGP4 element sets; :data:`PRESETS` holds the shells of the regulatory
filings (FCC grants, ITU filings), each with its citation, and
:func:`preset` builds one by name.

Mean elements
-------------
SGP4 takes *mean* elements (Kozai mean motion, mean inclination, mean node).
A shell's altitude is converted to a Kozai mean motion with Kepler's third
law, ``n = sqrt(mu / a^3)``, ``a = R_e + alt_km``, using the WGS-72 ``mu``
(398600.8 km^3 s^-2) SGP4 element sets are fitted with and the WGS-84
equatorial radius ``R_e`` (6378.137 km).  This is exactly the inverse of
:func:`~skyfence.orbits.constellation.mean_altitude_km`, the label skyfence
puts on every real catalog, so a preset shell and the real satellites flying
it get the same ``alt_km``.  The propagated (osculating) orbit is not a
perfect circle at that altitude: the J2 short-periodic terms make the
geocentric radius oscillate twice per revolution (8-15 km peak to peak for the
presets; allow for up to +-10 km) and the osculating inclination by about
+-0.02 deg; that is physics, not error.  Averaged over one revolution,
``|r| - R_e`` stays within 2 km of ``alt_km`` for every preset shell.  The mean
inclination and node are the filed ones, and every plane of a shell precesses
at the same J2 rate, so the planes stay evenly spaced.

Phasing
-------
The filings give planes and satellites per plane but not the inter-plane
phasing ``F``.  Every preset uses ``F = 1`` (the :class:`Shell` default), the
smallest non-zero Walker phasing: plane ``p`` is advanced by ``p * 360 / T``
deg.  ``preset(name, phasing=F)`` overrides it for all shells.  Hypatia's
``generate_tles_from_scratch`` (``phase_diff=True``, the setting of its
Starlink-550, Kuiper-630 and Telesat-1015 runs) shifts every odd plane by half
a slot; for an even number of planes that is exactly Walker ``F = P/2``
(e.g. ``preset("starlink-550", phasing=36)``), and ``phase_diff=False`` is
``F = 0``.  Phasing moves satellites along their orbits, so it matters for
inter-satellite link lengths and close approaches, hardly for coverage
statistics.

References
----------
- J. G. Walker, "Satellite constellations", Journal of the British
  Interplanetary Society 37, 559-571 (1984); "Circular orbit patterns
  providing continuous whole Earth coverage", RAE Technical Report 70211 (1970).
- D. A. Vallado, P. Crawford, R. Hujsak, T. S. Kelso, "Revisiting Spacetrack
  Report #3", AIAA 2006-6753 (SGP4, WGS-72 constants, Kozai mean motion).
- S. Kassing, D. Bhattacherjee, A. B. Aguas, J. E. Saethre, A. Singla,
  "Exploring the 'Internet from space' with Hypatia", ACM IMC 2020;
  satgenpy ``satgen/tles/generate_tles_from_scratch.py`` (github.com/snkas/hypatia).
- The filings cited by each entry of :data:`PRESETS`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sgp4.api import WGS72, Satrec

from skyfence.errors import InputError
from skyfence.orbits.constellation import EARTH_EQUATORIAL_RADIUS_KM, MU_WGS72_KM3_S2, Constellation

__all__ = [
    "DEFAULT_EPOCH",
    "PRESETS",
    "Preset",
    "Shell",
    "get_preset",
    "preset",
    "preset_names",
    "walker",
]

#: Epoch of the element sets :func:`walker` and :func:`preset` build when none is given (UTC).
DEFAULT_EPOCH = np.datetime64("2026-01-01T00:00:00", "ns")

#: SGP4 epochs count days from 1949-12-31 00:00 UT (JD 2433281.5).
_SGP4_EPOCH0 = np.datetime64("1949-12-31T00:00:00", "ns")

_MIN_ALT_KM = 100.0
_MAX_ALT_KM = 50000.0


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Shell:
    """One Walker shell ``i: T/P/F`` at one altitude.

    Attributes
    ----------
    alt_km
        Mean altitude above the WGS-84 equatorial radius [km], converted to a
        Kozai mean motion with the WGS-72 ``mu`` (see the module docstring).
    inclination_deg
        Mean inclination [deg], 0-180.
    n_planes
        Number of orbital planes ``P``.
    sats_per_plane
        Satellites per plane ``S``; the shell holds ``T = P * S``.
    phasing
        Walker phasing factor ``F`` (int >= 0, nominally ``0 .. P-1``):
        plane ``p`` is advanced along its orbit by ``p * F * 360 / T`` [deg].
        Default 1 -- the filings do not state it (module docstring).
    raan_spread_deg
        Arc the ascending nodes are spread over [deg]: 360 for a Walker delta
        pattern (default), 180 for a Walker star / polar pattern such as
        OneWeb's, whose planes are co-rotating over half the globe with a
        counter-rotating seam between the first and last plane.
    name
        Label, e.g. ``"550 km / 53 deg"``; :attr:`label` derives one when empty.
    """

    alt_km: float
    inclination_deg: float
    n_planes: int
    sats_per_plane: int
    phasing: int = 1
    raan_spread_deg: float = 360.0
    name: str = ""

    def __post_init__(self) -> None:
        def bad(field: str, message: str, hint: str) -> InputError:
            return InputError(message, source=f"Shell {self.name!r}" if self.name else None, field=field, hint=hint)

        if not _is_real(self.alt_km) or not (_MIN_ALT_KM <= float(self.alt_km) <= _MAX_ALT_KM):
            raise bad("alt_km", f"altitude {self.alt_km!r} km is out of range", "give 100-50000 km")
        if not _is_real(self.inclination_deg) or not (0.0 <= float(self.inclination_deg) <= 180.0):
            raise bad("inclination_deg", f"inclination {self.inclination_deg!r} deg is out of range", "give 0-180 deg")
        for field in ("n_planes", "sats_per_plane"):
            value = getattr(self, field)
            if not _is_int(value) or value < 1:
                raise bad(field, f"{field} must be a positive integer, got {value!r}", "give an integer >= 1")
        if not _is_int(self.phasing) or self.phasing < 0:
            raise bad(
                "phasing", f"phasing F must be a non-negative integer, got {self.phasing!r}", "Walker F is 0 .. P-1"
            )
        if not _is_real(self.raan_spread_deg) or not (0.0 < float(self.raan_spread_deg) <= 360.0):
            raise bad(
                "raan_spread_deg",
                f"RAAN spread {self.raan_spread_deg!r} deg is out of range",
                "360 for Walker delta, 180 for Walker star",
            )
        if not isinstance(self.name, str):
            raise bad("name", f"name must be a string, got {self.name!r}", "give a label such as '550 km / 53 deg'")

    @property
    def count(self) -> int:
        """Number of satellites ``T = P * S``."""
        return self.n_planes * self.sats_per_plane

    @property
    def label(self) -> str:
        """:attr:`name`, or ``"<alt> km / <inclination> deg"`` when it is empty."""
        return self.name or f"{self.alt_km:g} km / {self.inclination_deg:g} deg"

    @property
    def mean_motion_rad_per_min(self) -> float:
        """Kozai mean motion SGP4 is initialised with [rad/min]."""
        a_km = EARTH_EQUATORIAL_RADIUS_KM + float(self.alt_km)
        return math.sqrt(MU_WGS72_KM3_S2 / a_km**3) * 60.0

    def with_phasing(self, phasing: int) -> Shell:
        """The same shell with Walker phasing ``F = phasing``."""
        return replace(self, phasing=phasing)


@dataclass(frozen=True)
class Preset:
    """A filed constellation geometry: its shells and where they come from.

    Attributes
    ----------
    name
        Registry key (``"starlink-gen1"``).
    operator
        Who files and operates it.
    shells
        The shells, in the order their ``shell`` numbers are assigned.
    source
        Citation: filing, FCC/ITU docket or paper the numbers come from.
    notes
        What is simplified, uncertain, or differs in the real catalog.
    """

    name: str
    operator: str
    shells: tuple[Shell, ...]
    source: str
    notes: str = ""

    @property
    def count(self) -> int:
        """Total number of satellites."""
        return sum(shell.count for shell in self.shells)


# --------------------------------------------------------------------------- presets

_FCC_21_48 = (
    "FCC 21-48, Space Exploration Holdings, LLC, Request for Modification of the Authorization for the SpaceX "
    "NGSO Satellite System, Order and Authorization and Order on Reconsideration (released 27 April 2021), "
    "IBFS File No. SAT-MOD-20200417-00037"
)
_HYPATIA = (
    "S. Kassing et al., \"Exploring the 'Internet from space' with Hypatia\", ACM IMC 2020 "
    "(github.com/snkas/hypatia, paper/satellite_networks_state/main_starlink_550.py)"
)

_STARLINK_550 = Shell(550.0, 53.0, 72, 22, name="550 km / 53.0 deg")

_PRESET_LIST = (
    Preset(
        name="starlink-gen1",
        operator="SpaceX (Space Exploration Holdings, LLC)",
        shells=(
            _STARLINK_550,
            Shell(540.0, 53.2, 72, 22, name="540 km / 53.2 deg"),
            Shell(570.0, 70.0, 36, 20, name="570 km / 70.0 deg"),
            Shell(560.0, 97.6, 6, 58, name="560 km / 97.6 deg (6 planes)"),
            Shell(560.0, 97.6, 4, 43, name="560 km / 97.6 deg (4 planes)"),
        ),
        source=_FCC_21_48,
        notes=(
            "The first-generation Starlink system as modified in 2021: 4,408 satellites in five shells "
            "(1,584 + 1,584 + 720 + 348 + 172). SpaceX has since lowered many of these satellites "
            "(the 2026-08-18 CelesTrak catalog has the 53 deg shells mostly at 460-475 km), so this is the "
            "licensed geometry, not today's."
        ),
    ),
    Preset(
        name="starlink-550",
        operator="SpaceX (Space Exploration Holdings, LLC)",
        shells=(_STARLINK_550,),
        source=f"{_FCC_21_48}; first shell, as used by {_HYPATIA}",
        notes=(
            "Only the first Gen1 shell, 72 planes x 22 satellites at 550 km and 53 deg = 1,584 satellites: the "
            "skyfence benchmark workload and what Hypatia calls Starlink-550. Hypatia initialises it with "
            "15.19 rev/day (about 509 km in skyfence's mean-altitude convention) and phase_diff=True, which is "
            "Walker F = 36 here: preset('starlink-550', phasing=36) reproduces its layout."
        ),
    ),
    Preset(
        name="starlink-gen2a",
        operator="SpaceX (Space Exploration Holdings, LLC)",
        shells=(
            Shell(525.0, 53.0, 28, 120, name="525 km / 53 deg"),
            Shell(530.0, 43.0, 28, 120, name="530 km / 43 deg"),
            Shell(535.0, 33.0, 28, 120, name="535 km / 33 deg"),
        ),
        source=(
            "FCC 22-91, Space Exploration Holdings, LLC, Request for Orbital Deployment and Operating Authority "
            "for the SpaceX Gen2 NGSO Satellite System, Order and Authorization (released 1 December 2022), "
            "IBFS File Nos. SAT-LOA-20200526-00055 and SAT-AMD-20210818-00105"
        ),
        notes=(
            "The three Gen2 shells the first Gen2 grant covers, as filed: 28 planes x 120 satellites each, "
            "3 x 3,360 = 10,080 satellites. The grant caps deployment in them at 7,500 satellites in total; use "
            "Constellation.subset to model a partly filled shell. The rest of the 29,988-satellite Gen2 "
            "application (340-360 km and 604/614 km shells) was deferred and is not included."
        ),
    ),
    Preset(
        name="oneweb",
        operator="OneWeb (WorldVu Satellites Limited, Eutelsat OneWeb)",
        shells=(Shell(1200.0, 87.9, 12, 49, raan_spread_deg=180.0, name="1200 km / 87.9 deg (polar star)"),),
        source=(
            "DA 23-362, WorldVu Satellites Limited, Petition for Declaratory Ruling to Modify the U.S. Market "
            "Access Grant for the OneWeb Ku-band and Ka-band NGSO FSS System, Order and Declaratory Ruling "
            "(FCC Space Bureau, 28 April 2023), IBFS File Nos. SAT-MPL-20200526-00062 and "
            "SAT-APL-20210112-00007 (preceded by DA 22-970, which allowed 49 satellites per plane); the original "
            "grant is FCC 17-77 (720 satellites, 18 planes x 40)"
        ),
        notes=(
            "The 588 active first-generation satellites: 12 near-polar planes x 49 at 1,200 km and 87.9 deg, a "
            "Walker star (ascending nodes over 180 deg). The rest of the 716-satellite modified configuration "
            "(in our reading of the filing, 128 satellites in 55 deg planes, never launched) and the deferred "
            "6,372-satellite Phase 2 are not included. The real planes are staggered in altitude by about 4 km "
            "(1,175-1,219 km per the operator; 12 groups at 1,178-1,222 km in skyfence's mean-altitude "
            "convention in the 2026-08-18 CelesTrak catalog) and spaced 15.225 deg with a 12.525 deg seam; the "
            "preset uses one altitude and 180/12 = 15 deg."
        ),
    ),
    Preset(
        name="kuiper",
        operator="Amazon (Kuiper Systems LLC)",
        shells=(
            Shell(630.0, 51.9, 34, 34, name="630 km / 51.9 deg"),
            Shell(610.0, 42.0, 36, 36, name="610 km / 42 deg"),
            Shell(590.0, 33.0, 28, 28, name="590 km / 33 deg"),
        ),
        source=(
            "FCC 20-102, Kuiper Systems LLC, Application for Authority to Launch and Operate a Non-Geostationary "
            "Satellite Orbit System in Ka-band Frequencies, Order and Authorization (released 30 July 2020), "
            "IBFS File No. SAT-LOA-20190704-00057"
        ),
        notes=(
            "3,236 satellites: 1,156 + 1,296 + 784. The 2026-08-18 CelesTrak catalog has the deployed satellites "
            "at 51.9 deg and 629-630 km, i.e. on the first shell."
        ),
    ),
    Preset(
        name="telesat",
        operator="Telesat Canada (Telesat Lightspeed)",
        shells=(
            Shell(1015.0, 98.98, 27, 13, name="1015 km / 98.98 deg (polar)"),
            Shell(1325.0, 50.88, 40, 33, name="1325 km / 50.88 deg (inclined)"),
        ),
        source=(
            "Telesat Canada, Application for Modification of Market Access Authorization (filed 26 May 2020), "
            "IBFS File No. SAT-MPL-20200526-00053, modifying the market-access grant FCC 17-147 "
            "(SAT-PDR-20161115-00108); the polar shell is also Hypatia's Telesat-1015 (" + _HYPATIA + ")"
        ),
        notes=(
            "The 1,671-satellite 2020 design: 351 polar satellites (27 planes x 13, 1,015 km, 98.98 deg) and "
            "1,320 inclined (40 planes x 33, 1,325 km, 50.88 deg). The filing does not say whether the polar "
            "planes form a star or a delta pattern; like Hypatia the preset spreads them over 360 deg. Telesat "
            "has since redesigned Lightspeed (198 satellites ordered in 2023, and a further FCC modification "
            "reported in 2025 that moves the polar shell to about 1,335 km); those numbers are not settled "
            "enough to model here. No Lightspeed satellite is in the 2026-08-18 catalog."
        ),
    ),
    Preset(
        name="qianfan",
        operator="Shanghai Spacecom Satellite Technology (SSST), Qianfan / Spacesail / 'G60'",
        shells=(Shell(1068.0, 89.0, 18, 36, name="1068 km / 89 deg (polar)"),),
        source=(
            "SSST statements as reported (first phase 1,296 satellites; 648 by end-2025 for regional coverage; "
            "launches of 18 satellites, 'Qianfan polar orbit' groups): Xinhua, 7 August 2024; SpaceNews, "
            "August 2024. Orbit measured from CelesTrak GP data, group 'qianfan', 2026-08-18 "
            "(skyfence data mirror tle/omm_csv_2026/qianfan_20260818.csv.gz)"
        ),
        notes=(
            "No plane/slot table of Qianfan's ITU filings is public in detail, so this preset is the operational "
            "polar shell as flown: 18 planes x 36 = 648 satellites (the announced 648-satellite stage). In the "
            "2026-08-18 catalog 146 of 238 objects sit at 1,068.3-1,069.4 km mean altitude and 88.96-89.02 deg, in "
            "nine planes whose nodes are about 20.4 deg apart (360/18 = 20) -- planes are filled by two launches "
            "of 18 -- covering 273 deg to 77 deg so far; other groups are still raising (846-929 km) or stranded "
            "(879 km). The 1,160 km quoted in 2024 press was the planned altitude, not the flown one. How the "
            "other 648 first-phase satellites will be arranged is not public and they are not included."
        ),
    ),
    Preset(
        name="guowang",
        operator="China Satellite Network Group (China SatNet), Guowang 'GW'",
        shells=(
            Shell(590.0, 85.0, 8, 60, name="GW-A59 590 km / 85 deg"),
            Shell(600.0, 50.0, 40, 50, name="GW-A59 600 km / 50 deg"),
            Shell(508.0, 55.0, 60, 60, name="GW-A59 508 km / 55 deg"),
            Shell(1145.0, 30.0, 27, 64, name="GW-2 1145 km / 30 deg"),
            Shell(1145.0, 40.0, 27, 64, name="GW-2 1145 km / 40 deg"),
            Shell(1145.0, 50.0, 27, 64, name="GW-2 1145 km / 50 deg"),
            Shell(1145.0, 60.0, 27, 64, name="GW-2 1145 km / 60 deg"),
        ),
        source=(
            "ITU filings GW-A59 (6,080 satellites) and GW-2 (6,912 satellites), submitted by the Administration "
            "of China in September 2020; sub-shell table (altitude, inclination, planes, satellites per plane) "
            'as compiled by C. G. Bassa, O. R. Hainaut, D. Galadi-Enriquez, "Analytical simulations of the '
            'effect of satellite constellations on optical and near-infrared observations", A&A 657, A75 '
            "(2022), Table 1"
        ),
        notes=(
            "12,992 satellites as filed: GW-A59 480 + 2,000 + 3,600, GW-2 4 x 1,728. What flies differs: in the "
            "2026-08-18 CelesTrak catalog (191 objects) the operational satellites are at 50.0 deg and about "
            "1,149 km mean altitude -- the GW-2 50 deg sub-shell -- in 12 planes 30 deg apart with 9 satellites "
            "per launch (30 deg spacing does not fit the filed 27 planes), and at 86.5 deg and about 1,168 km, a "
            "shell that is not in these two filings (six planes about 30 deg apart so far). The low GW-A59 shells "
            "are not populated yet."
        ),
    ),
)

#: The filed constellation geometries, by name.  Each entry's ``source`` cites the filing.
PRESETS: dict[str, Preset] = {p.name: p for p in _PRESET_LIST}


def preset_names() -> list[str]:
    """Names of the presets in :data:`PRESETS`, sorted."""
    return sorted(PRESETS)


def _normalise(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").split())


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case, ``_`` and spaces are forgiven: ``"Starlink_550"`` works).

    Raises
    ------
    InputError
        When there is no such preset; the message names the closest match
        (:func:`difflib.get_close_matches`) and lists the valid names.
    """
    names = preset_names()
    if not isinstance(name, str):
        raise InputError(
            f"preset name must be a string, got {name!r}", field="name", hint=f"valid presets: {', '.join(names)}"
        )
    key = _normalise(name)
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InputError(f"unknown Walker preset {name!r}", field="name", hint=f"{hint}valid presets: {', '.join(names)}")


# --------------------------------------------------------------------------- construction


def _epoch_datetime64(epoch: np.datetime64 | datetime | str | None) -> np.datetime64:
    """UTC ``datetime64[ns]`` from a datetime64, a datetime (naive = UTC) or an ISO string."""
    if epoch is None:
        return DEFAULT_EPOCH
    try:
        if isinstance(epoch, datetime):
            if epoch.tzinfo is not None:
                epoch = epoch.astimezone(UTC).replace(tzinfo=None)
            value = np.datetime64(epoch, "ns")
        elif isinstance(epoch, str):
            text = epoch.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1]
            value = np.datetime64(text, "ns")
        else:
            value = np.datetime64(epoch, "ns")  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"cannot read epoch {epoch!r}",
            field="epoch",
            hint="give a numpy.datetime64, a datetime or '2026-01-01T00:00Z'",
        ) from exc
    if np.isnat(value):
        raise InputError("epoch is NaT", field="epoch", hint="give a UTC time such as 2026-01-01T00:00")
    return value


def _as_shells(shells: Shell | Iterable[Shell]) -> tuple[Shell, ...]:
    items = (shells,) if isinstance(shells, Shell) else tuple(shells)
    if not items:
        raise InputError("no shells given", field="shells", hint="give at least one Shell")
    for index, item in enumerate(items):
        if not isinstance(item, Shell):
            raise InputError(
                f"shells[{index}] is a {type(item).__name__}, not a Shell",
                field="shells",
                hint="build them with Shell(alt_km, inclination_deg, n_planes, sats_per_plane)",
            )
    return items


def walker(
    shells: Shell | Iterable[Shell],
    *,
    epoch: np.datetime64 | datetime | str | None = DEFAULT_EPOCH,
    name: str = "walker",
    source: str = "",
) -> Constellation:
    """Build a constellation of circular SGP4 orbits laid out as Walker shells.

    Satellite ``(shell k, plane p, slot s)`` gets RAAN ``p * raan_spread_deg / P``
    and mean anomaly ``s * 360/S + p * F * 360/T`` [deg] (module docstring),
    eccentricity 0, argument of perigee 0, B* 0 (no drag) and the Kozai mean
    motion of the shell's altitude.  Satellites are numbered 1..N (synthetic
    catalog numbers, shells in order, plane-major) and named
    ``"<NAME>-S<k>-P<pp>-S<ss>"``, e.g. ``"STARLINK-GEN1-S0-P03-S12"``.

    Parameters
    ----------
    shells
        One :class:`Shell` or several.
    epoch
        Epoch of every element set (UTC): ``numpy.datetime64``, ``datetime``
        (naive means UTC) or ISO string.  Default 2026-01-01T00:00Z.
    name
        Constellation name, also the satellite-name prefix (upper-cased).
    source
        Citation stored on the constellation.

    Returns
    -------
    Constellation
        ``satellites`` has ``shell``, ``plane`` and ``slot`` filled in and
        ``shells`` carries each shell's name, altitude, inclination, planes
        and satellites per plane.
    """
    shell_tuple = _as_shells(shells)
    epoch64 = _epoch_datetime64(epoch)
    epoch_days = float((epoch64 - _SGP4_EPOCH0) / np.timedelta64(1, "ns")) / 86400e9

    counts = np.array([s.count for s in shell_tuple], dtype=np.int64)
    shell_idx = np.repeat(np.arange(len(shell_tuple), dtype=np.int64), counts)
    planes, slots, raan_deg, mean_anomaly_deg, inclination_deg, no_kozai = [], [], [], [], [], []
    for shell in shell_tuple:
        p = np.repeat(np.arange(shell.n_planes, dtype=np.int64), shell.sats_per_plane)
        s = np.tile(np.arange(shell.sats_per_plane, dtype=np.int64), shell.n_planes)
        planes.append(p)
        slots.append(s)
        raan_deg.append(p * (float(shell.raan_spread_deg) / shell.n_planes))
        # Integer arithmetic first, one division: exact phases, no drift for large T.
        mean_anomaly_deg.append(np.mod((s * shell.n_planes + p * shell.phasing) * (360.0 / shell.count), 360.0))
        inclination_deg.append(np.full(shell.count, float(shell.inclination_deg)))
        no_kozai.append(np.full(shell.count, shell.mean_motion_rad_per_min))
    plane = np.concatenate(planes)
    slot = np.concatenate(slots)
    nodeo = np.radians(np.concatenate(raan_deg))
    mo = np.radians(np.concatenate(mean_anomaly_deg))
    inclo = np.radians(np.concatenate(inclination_deg))
    no = np.concatenate(no_kozai)
    n = len(plane)
    if n > 339_999:
        raise InputError(
            f"{n} satellites exceed the 339,999 catalog numbers SGP4 accepts", field="shells", hint="split the shells"
        )

    satrecs = []
    for satnum, i_rad, m_rad, n_rad_min, node_rad in zip(
        range(1, n + 1), inclo.tolist(), mo.tolist(), no.tolist(), nodeo.tolist(), strict=True
    ):
        sat = Satrec()
        # whichconst, opsmode, satnum, epoch, bstar, ndot, nddot, ecco, argpo, inclo, mo, no_kozai, nodeo
        sat.sgp4init(WGS72, "i", satnum, epoch_days, 0.0, 0.0, 0.0, 0.0, 0.0, i_rad, m_rad, n_rad_min, node_rad)
        satrecs.append(sat)

    prefix = "-".join(str(name).upper().split()) or "WALKER"
    plane_width = [max(2, len(str(s.n_planes - 1))) for s in shell_tuple]
    slot_width = [max(2, len(str(s.sats_per_plane - 1))) for s in shell_tuple]
    names = [
        f"{prefix}-S{k}-P{p:0{plane_width[k]}d}-S{s:0{slot_width[k]}d}"
        for k, p, s in zip(shell_idx.tolist(), plane.tolist(), slot.tolist(), strict=True)
    ]
    shell_info = pd.DataFrame(
        {
            "shell": np.arange(len(shell_tuple), dtype=np.int64),
            "name": pd.Series([s.label for s in shell_tuple], dtype=object),
            "alt_km": np.array([s.alt_km for s in shell_tuple], dtype=float),
            "inclination_deg": np.array([s.inclination_deg for s in shell_tuple], dtype=float),
            "n_planes": np.array([s.n_planes for s in shell_tuple], dtype=np.int64),
            "sats_per_plane": np.array([s.sats_per_plane for s in shell_tuple], dtype=np.int64),
        }
    )
    return Constellation.from_satrecs(
        name,
        satrecs,
        norad_ids=np.arange(1, n + 1, dtype=np.int64),
        names=names,
        shell=shell_idx,
        plane=plane,
        slot=slot,
        shell_info=shell_info,
        source=source,
    )


def preset(
    name: str,
    *,
    epoch: np.datetime64 | datetime | str | None = None,
    phasing: int | None = None,
) -> Constellation:
    """Build the constellation of a filed geometry from :data:`PRESETS`.

    Parameters
    ----------
    name
        Preset name (:func:`preset_names`), e.g. ``"starlink-550"``.
    epoch
        Element epoch (UTC); default 2026-01-01T00:00Z (:data:`DEFAULT_EPOCH`).
    phasing
        Walker ``F`` for every shell, overriding the preset's (``F = 1``).

    Returns
    -------
    Constellation
        Named after the preset, ``source`` = the preset's citation.

    Raises
    ------
    InputError
        Unknown name (with the closest match) or a bad ``phasing``/``epoch``.
    """
    entry = get_preset(name)
    shells = entry.shells
    if phasing is not None:
        if not _is_int(phasing) or phasing < 0:
            raise InputError(
                f"phasing must be a non-negative integer, got {phasing!r}", field="phasing", hint="Walker F is 0 .. P-1"
            )
        shells = tuple(shell.with_phasing(int(phasing)) for shell in shells)
    return walker(shells, epoch=epoch, name=entry.name, source=entry.source)
