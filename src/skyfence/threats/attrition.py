"""Attrition: which satellites an attack removes.

An attack (:class:`SatelliteAttack`) names its *targets* with filters that must all hold -- catalog numbers, shells,
orbital planes, generations, and an *engagement* (every satellite that passes over a region during a window) --
and then removes a ``fraction`` of the targets, drawn at random with a seed.  With no filter every satellite is a
target, so ``SatelliteAttack(fraction=0.3)`` is random attrition of 30 % of the constellation.

Planes
------
A plane is a bin of right ascension of the ascending node (RAAN) within a shell.  Walker presets know their planes;
for a real catalog the RAAN of each satellite is carried from its element epoch to a common reference time with the
secular J2 drift (element epochs differ by days and the node moves by about -5 deg/day at 53 deg), and plane ``k``
of a shell is RAAN in ``[k w, (k + 1) w)`` with ``w = 360 / n_planes`` when the shell's plane count is known and
``plane_bin_deg`` (default 5 deg = 360 / 72, Starlink's Gen1 53 deg shells) otherwise.

    dRAAN/dt = -3/2 n J2 (R_E / p)^2 cos i            (Vallado 2013, eq. 9-41)

An engagement counts a satellite when it is above the elevation mask of at least one cell of the region at least
once in the window (the same visibility kernel as coverage), so removing every engaged satellite leaves the region
with zero coverage during the window -- exactly, not approximately (tested).

References
----------
Vallado, D. A. (2013). *Fundamentals of Astrodynamics and Applications*, 4th ed., sec. 9.6 (secular J2 effects).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skyfence.errors import InputError

__all__ = [
    "DEFAULT_PLANE_BIN_DEG",
    "Engagement",
    "SatelliteAttack",
    "draw_fraction",
    "plane_labels",
    "raan_at_deg",
    "satellite_generations",
]

#: RAAN bin of a plane when a shell's plane count is unknown [deg] (360 / 72: Starlink Gen1 53 deg shells).
DEFAULT_PLANE_BIN_DEG = 5.0
#: Earth's J2 (EGM-96 / WGS-84 value used by SGP4's WGS-72 set is 0.001082616).
_J2 = 0.001082616
_RE_KM = 6378.135
_MU_KM3_S2 = 398600.8


def raan_at_deg(constellation, t_ref: np.datetime64) -> np.ndarray:
    """Mean RAAN [deg, 0-360) of every satellite carried to ``t_ref`` with the secular J2 drift."""
    table = constellation.satellites
    n_rad_s = table["mean_motion_rev_per_day"].to_numpy(float) * 2 * np.pi / 86400.0
    inc = np.radians(table["inclination_deg"].to_numpy(float))
    ecc = table["eccentricity"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_km = np.cbrt(_MU_KM3_S2 / n_rad_s**2)
        p_km = a_km * (1 - ecc**2)
        rate_rad_s = -1.5 * n_rad_s * _J2 * (_RE_KM / p_km) ** 2 * np.cos(inc)
    dt_s = (np.asarray(t_ref, dtype="datetime64[ns]") - table["epoch"].to_numpy("datetime64[ns]")) / np.timedelta64(
        1, "s"
    )
    return (table["raan_deg"].to_numpy(float) + np.degrees(rate_rad_s * dt_s)) % 360.0


def plane_labels(
    constellation, t_ref: np.datetime64 | None = None, *, plane_bin_deg: float | None = None
) -> np.ndarray:
    """Plane number within its shell per satellite (``-1`` outside every shell); see the module docstring."""
    table = constellation.satellites
    plane = table["plane"].to_numpy(np.int64)
    shell = table["shell"].to_numpy(np.int64)
    if len(table) and bool((plane >= 0).all()):
        return plane.copy()
    if t_ref is None:
        t_ref = constellation.epoch_range[1] if len(table) else np.datetime64("2026-01-01", "ns")
    raan = raan_at_deg(constellation, t_ref)
    n_planes = dict(zip(constellation.shells["shell"].tolist(), constellation.shells["n_planes"].tolist(), strict=True))
    width = np.array(
        [
            360.0 / n_planes[s]
            if n_planes.get(s, -1) > 0 and plane_bin_deg is None
            else (plane_bin_deg or DEFAULT_PLANE_BIN_DEG)
            for s in shell.tolist()
        ],
        dtype=float,
    )
    out = np.floor(raan / width).astype(np.int64)
    return np.where(shell >= 0, out, -1)


@dataclass(frozen=True)
class Engagement:
    """Every satellite that passes over ``region`` (a :func:`~skyfence.earth.regions.get_region` spec) between
    ``start`` and ``end`` (UTC), i.e. is above ``min_elevation_deg`` of one of its cells at ``res``."""

    region: str
    start: np.datetime64
    end: np.datetime64
    min_elevation_deg: float = 25.0
    res: int = 5

    def __post_init__(self) -> None:
        from skyfence.orbits.time import parse_time

        if parse_time(self.end, field="engagement.end") < parse_time(self.start, field="engagement.start"):
            raise InputError(
                f"engagement ends ({self.end}) before it starts ({self.start})",
                field="engagement.end",
                hint="swap start and end",
            )

    def satellites(self, constellation, *, step: str = "60s") -> np.ndarray:
        """Boolean mask of the engaged satellites (propagates over the window)."""
        from skyfence.earth.regions import get_region
        from skyfence.orbits.time import parse_time, time_grid
        from skyfence.threats.viewsets import compute_viewsets

        cells = get_region(self.region).cells(self.res)
        start, end = parse_time(self.start, field="engagement.start"), parse_time(self.end, field="engagement.end")
        times = time_grid(start, end - start, step)
        return compute_viewsets(constellation, cells, times, min_elevation_deg=self.min_elevation_deg).engaged()


def satellite_generations(constellation) -> np.ndarray:
    """Generation per satellite, as the capacity layer reads it from the catalog (``"unknown"`` where it cannot)."""
    from skyfence.capacity.engine import assign_generations

    try:
        names = np.asarray(assign_generations(constellation), dtype=object)
    except InputError:
        names = np.full(len(constellation), "", dtype=object)
    return np.where(names == "", "unknown", names)


def _check_known(values: Sequence, known: Sequence, key: str, what: str) -> None:
    known_set = set(known)
    for value in values:
        if value not in known_set:
            close = difflib.get_close_matches(str(value), [str(k) for k in known], n=3)
            sample = ", ".join(str(k) for k in list(known)[:8]) + (" ..." if len(known) > 8 else "")
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {sample}"
            raise InputError(f"unknown {what} {value!r}", field=key, hint=hint)


@dataclass(frozen=True)
class SatelliteAttack:
    """An attack on satellites: filters select the targets (all given filters hold), ``fraction`` of them go.

    Parameters
    ----------
    norad_ids
        Catalog numbers.
    shells
        Shell numbers (``skyfence catalog info`` lists them).
    planes
        Plane numbers within the selected shells (see the module docstring); needs ``shells`` for a real catalog.
    generations
        Generation names as the capacity layer reads them from the catalog
        (:func:`~skyfence.capacity.engine.assign_generations`: ``starlink-v1.0``, ``starlink-v1.5``,
        ``starlink-v2-mini``, ``oneweb-gen1`` ...).
    engagement
        An :class:`Engagement`, or the boolean mask of engaged satellites already computed.
    fraction
        Share of the targets removed, in [0, 1]; the draw is without replacement (``round(fraction * targets)``).
    seed
        Seed of the draw.
    """

    norad_ids: tuple[int, ...] | None = None
    shells: tuple[int, ...] | None = None
    planes: tuple[int, ...] | None = None
    generations: tuple[str, ...] | None = None
    engagement: Engagement | None = None
    fraction: float = 1.0
    seed: int = 0
    plane_bin_deg: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        f = self.fraction
        if not (isinstance(f, int | float) and np.isfinite(f) and 0.0 <= float(f) <= 1.0):
            raise InputError(f"fraction must be in [0, 1], got {f}", field="fraction", hint="0.1 removes 10 %")
        if self.plane_bin_deg is not None and not (0.0 < float(self.plane_bin_deg) <= 360.0):
            raise InputError(f"plane_bin_deg must be in (0, 360], got {self.plane_bin_deg}", field="plane_bin_deg")

    def targets(
        self, constellation, *, t_ref: np.datetime64 | None = None, engaged: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean mask of the satellites the filters select; unknown ids, shells, planes, generations raise."""
        table = constellation.satellites
        n = len(table)
        hit = np.ones(n, dtype=bool)
        if self.norad_ids is not None:
            ids = table["norad_id"].to_numpy(np.int64)
            _check_known([int(i) for i in self.norad_ids], ids.tolist(), "norad_ids", "satellite id")
            hit &= np.isin(ids, np.asarray(self.norad_ids, dtype=np.int64))
        shell = table["shell"].to_numpy(np.int64)
        if self.shells is not None:
            _check_known([int(s) for s in self.shells], sorted(set(shell[shell >= 0].tolist())), "shells", "shell")
            hit &= np.isin(shell, np.asarray(self.shells, dtype=np.int64))
        if self.planes is not None:
            labels = plane_labels(constellation, t_ref, plane_bin_deg=self.plane_bin_deg)
            in_scope = hit & (labels >= 0)
            _check_known([int(p) for p in self.planes], sorted(set(labels[in_scope].tolist())), "planes", "plane")
            hit &= np.isin(labels, np.asarray(self.planes, dtype=np.int64))
        if self.generations is not None:
            gens = satellite_generations(constellation)
            _check_known(list(self.generations), sorted(set(gens.tolist())), "generations", "generation")
            hit &= np.isin(gens, np.asarray(self.generations, dtype=object))
        if self.engagement is not None or engaged is not None:
            mask = engaged if engaged is not None else self.engagement.satellites(constellation)  # type: ignore[union-attr]
            hit &= np.asarray(mask, dtype=bool)
        return hit

    def removed(
        self,
        constellation,
        *,
        seed: int | None = None,
        t_ref: np.datetime64 | None = None,
        engaged: np.ndarray | None = None,
        targets: np.ndarray | None = None,
    ) -> np.ndarray:
        """Boolean mask of the satellites this attack removes (``seed`` overrides the attack's own)."""
        hit = self.targets(constellation, t_ref=t_ref, engaged=engaged) if targets is None else targets
        return draw_fraction(hit, self.fraction, self.seed if seed is None else seed)


def draw_fraction(targets: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``round(fraction * targets)`` of the ``targets`` (boolean mask) drawn without replacement.

    The draw takes the first ``k`` of one seeded permutation, so with a fixed seed a larger fraction removes a
    superset of what a smaller one removes (common random numbers: resilience curves are monotone per seed).
    """
    index = np.flatnonzero(targets)
    k = round(float(fraction) * len(index))
    out = np.zeros(len(targets), dtype=bool)
    out[np.random.default_rng(seed).permutation(index)[:k]] = True
    return out
