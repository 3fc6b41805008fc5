"""Debris from a kinetic anti-satellite (ASAT) test: a FIRST-ORDER model of fragments -> flux -> losses per shell.

This is a first-order estimate, to say how large the effect is, not a debris-environment model (ESA MASTER,
NASA ORDEM and LEGEND propagate every fragment with drag and solar activity; this does not).  The chain:

1. **Fragment count** -- NASA Standard Breakup Model, catastrophic collision (Johnson et al. 2001, eq. 4):
   ``N(>= Lc) = 0.1 M^0.75 Lc^-1.71`` with ``M`` the mass involved [kg] and ``Lc`` the characteristic length [m],
   scaled by one factor so that the Kosmos 1408 event (15 Nov 2021, ~480 km, 1,750 kg Tselina-D) gives the
   1,500 trackable (>= 10 cm) fragments reported by US Space Command.  That calibration is the only tuned number.
2. **Spread** -- every fragment leaves the breakup point with an isotropic velocity change whose magnitude is
   log-normal with the Breakup Model's width (sigma of log10 = 0.4) and a median chosen so that, for Kosmos 1408,
   95 % of the fragments' apogees lie below 1,100 km (the cloud was reported between 300 and 1,100 km).
   Fragments with a perigee below 200 km are dropped (they re-enter within days).  Each fragment's orbit spends
   a known share of its time at each altitude (the Kepler-equation time fraction), and the nodes spread around
   the Earth within weeks (differential J2), so the cloud is taken as a spherical shell: the density at altitude
   ``h`` is the number of fragments there over the volume ``4 pi r^2 dh``.  Latitude structure is ignored.
3. **Flux and losses** -- kinetic-gas approximation (Kessler 1981): a satellite of cross-section ``A`` moving
   through fragments of density ``n`` at mean relative speed ``v`` meets ``n v A`` of them per second.  Every
   fragment above ``lethal_size_m`` is counted as a loss.  The loss rate per satellite per day at its altitude,
   times the satellites of a shell, is the expected loss per shell per day; over a horizon it becomes random
   removal times (exponential with that hazard, decaying with ``decay_e_folding_days`` when given).

Assumptions without a public value are parameters (see ``docs/threats.md`` for their sweeps): the cross-section
(default 30 m^2: a Starlink v1.5 bus with its solar array), the lethal size (default 1 cm: the accepted threshold
for mission-ending damage to an unshielded spacecraft), the relative speed (default 10 km/s, about 4/3 of the
orbital speed: the kinetic-gas mean for isotropic directions) and the fragment lifetime (default: no decay, an
upper bound over the horizon).

References
----------
Johnson, N. L., Krisko, P. H., Liou, J.-C., Anz-Meador, P. D. (2001). NASA's new breakup model of EVOLVE 4.0.
*Advances in Space Research* 28(9), 1377-1384.
Kessler, D. J. (1981). Derivation of the collision probability between orbiting objects: the lifetimes of
Jupiter's outer moons. *Icarus* 48, 39-48 (the kinetic-gas flux).
US Space Command (2021-11-15), statement on the Russian direct-ascent ASAT test: "more than 1,500 pieces of
trackable orbital debris"; NASA Orbital Debris Quarterly News 26(1), 2022 (Kosmos 1408, 1,750 kg, ~480 km).
ESA Space Debris Office (2023). *ESA's Annual Space Environment Report* (objects > 1 cm can be mission-ending).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from skyfence.errors import InputError

__all__ = [
    "KOSMOS_1408",
    "AsatEvent",
    "DebrisCloud",
    "debris_cloud",
    "fragments_at_least",
    "removal_times",
]

_MU_KM3_S2 = 398600.4418
_RE_KM = 6378.137
#: Catastrophic-collision coefficient of the NASA Standard Breakup Model (Johnson et al. 2001).
_SBM_COEFFICIENT = 0.1
_SBM_EXPONENT = -1.71
#: Width of the log10 velocity-change distribution of the Breakup Model (collisions).
_SBM_DV_SIGMA_LOG10 = 0.4
#: Kosmos 1408 (Tselina-D): mass [kg], breakup altitude [km], inclination [deg], trackable fragments (>= 10 cm),
#: and the highest apogee of the cloud [km] (see the module docstring for the sources).
KOSMOS_1408 = {"mass_kg": 1750.0, "alt_km": 480.0, "inclination_deg": 82.6, "trackable": 1500, "apogee_p95_km": 1100.0}
#: Fragments with a perigee below this altitude re-enter within days and are dropped [km].
_DECAY_PERIGEE_KM = 200.0
_ALT_EDGES_KM = np.arange(150.0, 3005.0, 5.0)


def fragments_at_least(size_m, mass_kg: float, *, calibration: float | None = None) -> np.ndarray:
    """Fragments of characteristic length >= ``size_m`` [m] from a catastrophic breakup of ``mass_kg`` [kg],
    NASA Standard Breakup Model scaled by ``calibration`` (default: the Kosmos 1408 factor)."""
    k = _kosmos_count_factor() if calibration is None else float(calibration)
    return k * _SBM_COEFFICIENT * float(mass_kg) ** 0.75 * np.asarray(size_m, dtype=float) ** _SBM_EXPONENT


def _kosmos_count_factor() -> float:
    raw = _SBM_COEFFICIENT * KOSMOS_1408["mass_kg"] ** 0.75 * 0.1**_SBM_EXPONENT
    return KOSMOS_1408["trackable"] / raw


def _fragment_orbits(alt_km: float, dv_median_m_s: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Semi-major axis [km] and eccentricity of ``n`` sampled fragments of a breakup on a circular orbit."""
    rng = np.random.default_rng(seed)
    r0 = _RE_KM + alt_km
    v0 = math.sqrt(_MU_KM3_S2 / r0)
    dv = dv_median_m_s / 1000.0 * 10.0 ** (rng.normal(0.0, _SBM_DV_SIGMA_LOG10, n))
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    # frame: x radial, y along-track, z cross-track
    vr = dv * direction[:, 0]
    vt = v0 + dv * direction[:, 1]
    vz = dv * direction[:, 2]
    v2 = vr**2 + vt**2 + vz**2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.0 / (2.0 / r0 - v2 / _MU_KM3_S2)
        h2 = r0**2 * (vt**2 + vz**2)
        e = np.sqrt(np.clip(1.0 - h2 / (_MU_KM3_S2 * a), 0.0, None))
    bound = np.isfinite(a) & (a > 0) & (e < 1)
    return a[bound], e[bound]


@lru_cache(maxsize=1)
def _calibrated_dv_median_m_s() -> float:
    """The median velocity change that puts 95 % of Kosmos 1408's fragment apogees below 1,100 km (bisection)."""
    lo, hi = 1.0, 1000.0
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        a, e = _fragment_orbits(KOSMOS_1408["alt_km"], mid, 20_000, seed=1408)
        apogee = a * (1 + e) - _RE_KM
        if np.percentile(apogee, 95) > KOSMOS_1408["apogee_p95_km"]:
            hi = mid
        else:
            lo = mid
    return math.sqrt(lo * hi)


def _time_below(radius_km: np.ndarray, a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Share of its time an orbit ``(a, e)`` spends below ``radius_km``: ``(n_orbits, n_radii)``."""
    r = np.asarray(radius_km, dtype=float)[None, :]
    a, e = a[:, None], e[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_e = np.clip((1.0 - r / a) / np.where(e > 0, e, np.inf), -1.0, 1.0)
    ecc_anomaly = np.arccos(cos_e)
    frac = (ecc_anomaly - e * np.sin(ecc_anomaly)) / np.pi
    circular = e[:, 0] < 1e-9
    frac[circular] = (r >= a[circular]).astype(float)
    return frac


@dataclass(frozen=True)
class AsatEvent:
    """A kinetic ASAT breakup: altitude [km], mass involved [kg], and the loss model's assumptions.

    Defaults are Kosmos 1408's mass and the documented assumptions (module docstring).
    """

    alt_km: float = 500.0
    mass_kg: float = KOSMOS_1408["mass_kg"]
    date: str | None = None
    lethal_size_m: float = 0.01
    satellite_area_m2: float = 30.0
    relative_speed_km_s: float = 10.0
    decay_e_folding_days: float | None = None
    samples: int = 20_000
    seed: int = 1408

    def __post_init__(self) -> None:
        checks = (
            ("alt_km", self.alt_km, 200.0, 2000.0, "km"),
            ("mass_kg", self.mass_kg, 1.0, 1.0e5, "kg"),
            ("lethal_size_m", self.lethal_size_m, 1.0e-3, 1.0, "m"),
            ("satellite_area_m2", self.satellite_area_m2, 0.01, 1000.0, "m^2"),
            ("relative_speed_km_s", self.relative_speed_km_s, 0.1, 20.0, "km/s"),
        )
        for key, value, lo, hi, unit in checks:
            if not (isinstance(value, int | float) and np.isfinite(value) and lo <= value <= hi):
                raise InputError(f"{key} must be in [{lo:g}, {hi:g}] {unit}, got {value}", field=key)
        if self.decay_e_folding_days is not None and not (
            np.isfinite(self.decay_e_folding_days) and self.decay_e_folding_days > 0
        ):
            raise InputError(
                f"decay_e_folding_days must be positive, got {self.decay_e_folding_days}",
                field="decay_e_folding_days",
                hint="leave it out for no decay",
            )


@dataclass(frozen=True, eq=False)
class DebrisCloud:
    """A debris cloud: fragment counts and density per altitude, and the loss rate it causes.

    ``profile`` has one row per altitude bin: ``alt_km`` (bin centre), ``fragments`` (lethal fragments there on
    average), ``density_per_km3``, ``loss_rate_per_sat_per_day``.
    """

    event: AsatEvent
    lethal_fragments: float
    trackable_fragments: float
    dv_median_m_s: float
    profile: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def loss_rate_per_sat_per_day(self, alt_km) -> np.ndarray:
        """Loss rate [1/day] of a satellite at ``alt_km`` (linear in the binned profile; 0 outside)."""
        return np.interp(
            np.asarray(alt_km, dtype=float),
            self.profile["alt_km"],
            self.profile["loss_rate_per_sat_per_day"],
            left=0.0,
            right=0.0,
        )

    def cumulative_hazard(self, rate_per_day, days) -> np.ndarray:
        """Expected losses per satellite after ``days`` at initial rate ``rate_per_day`` (with decay if set)."""
        rate = np.asarray(rate_per_day, dtype=float)
        t = np.asarray(days, dtype=float)
        tau = self.event.decay_e_folding_days
        return rate * t if tau is None else rate * tau * (1.0 - np.exp(-t / tau))

    def shell_losses(self, constellation, horizon_days: float) -> pd.DataFrame:
        """Expected losses per shell: per day at the start and over ``horizon_days`` (the issue's table)."""
        table = constellation.satellites
        rate = self.loss_rate_per_sat_per_day(table["alt_km"].to_numpy(float))
        frame = pd.DataFrame(
            {
                "shell": table["shell"].to_numpy(np.int64),
                "rate": rate,
                "p_loss": 1.0 - np.exp(-self.cumulative_hazard(rate, horizon_days)),
            }
        )
        grouped = (
            frame.groupby("shell")
            .agg(
                satellites=("rate", "size"),
                loss_rate_per_sat_per_day=("rate", "mean"),
                expected_losses_per_day=("rate", "sum"),
                expected_losses_horizon=("p_loss", "sum"),
            )
            .reset_index()
        )
        names = dict(zip(constellation.shells["shell"], constellation.shells["name"], strict=True))
        alts = dict(zip(constellation.shells["shell"], constellation.shells["alt_km"], strict=True))
        grouped.insert(1, "name", [names.get(s, "not in a shell") for s in grouped["shell"]])
        grouped.insert(2, "alt_km", [alts.get(s, float("nan")) for s in grouped["shell"]])
        grouped["horizon_days"] = float(horizon_days)
        return grouped


def debris_cloud(event: AsatEvent) -> DebrisCloud:
    """Fragments, spread and loss rate per altitude for ``event`` (see the module docstring; first-order)."""
    dv = _calibrated_dv_median_m_s()
    a, e = _fragment_orbits(event.alt_km, dv, int(event.samples), int(event.seed))
    perigee = a * (1 - e) - _RE_KM
    keep = perigee >= _DECAY_PERIGEE_KM
    survive = float(keep.mean()) if len(keep) else 0.0
    a, e = a[keep], e[keep]
    lethal = float(fragments_at_least(event.lethal_size_m, event.mass_kg)) * survive
    trackable = float(fragments_at_least(0.1, event.mass_kg)) * survive
    edges = _ALT_EDGES_KM
    below = _time_below(_RE_KM + edges, a, e)
    share = np.diff(below, axis=1).mean(axis=0) if len(a) else np.zeros(len(edges) - 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    r = _RE_KM + centres
    volume = 4.0 * np.pi * r**2 * np.diff(edges)
    fragments = lethal * share
    density = fragments / volume
    area_km2 = event.satellite_area_m2 * 1e-6
    rate = density * event.relative_speed_km_s * area_km2 * 86400.0
    profile = pd.DataFrame(
        {"alt_km": centres, "fragments": fragments, "density_per_km3": density, "loss_rate_per_sat_per_day": rate}
    )
    settings = {
        "model": "first-order (NASA SBM count, isotropic log-normal spread, kinetic-gas flux)",
        "dv_median_m_s": round(dv, 2),
        "surviving_share": round(survive, 4),
    }
    return DebrisCloud(event, lethal, trackable, dv, profile, settings)


def removal_times(
    cloud: DebrisCloud, constellation, start: np.datetime64, horizon_days: float, *, seed: int = 0
) -> np.ndarray:
    """Random loss time per satellite (UTC ``datetime64[ns]``; NaT when it survives the horizon).

    Each satellite's hazard is its altitude's loss rate (decaying if the event says so); the loss time is drawn
    by inverting the cumulative hazard of one seeded uniform per satellite.
    """
    rate = cloud.loss_rate_per_sat_per_day(constellation.satellites["alt_km"].to_numpy(float))
    target = -np.log(np.random.default_rng(seed).uniform(size=len(rate)))
    tau = cloud.event.decay_e_folding_days
    with np.errstate(divide="ignore", invalid="ignore"):
        if tau is None:
            days = target / rate
        else:
            ratio = 1.0 - target / (rate * tau)
            days = np.where(ratio > 0, -tau * np.log(ratio), np.inf)
    lost = np.isfinite(days) & (days <= horizon_days)
    out = np.full(len(rate), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[lost] = np.asarray(start, dtype="datetime64[ns]") + (days[lost] * 86400e9).astype("timedelta64[ns]")
    return out
