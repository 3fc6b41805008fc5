"""The constellation: one object for a loaded catalog and for a filed (Walker) preset.

Everything downstream (propagation, coverage, network) sees a
:class:`Constellation`: SGP4 element sets (``sgp4.api.Satrec``) in a fixed
order, plus a table with one row per satellite carrying its catalog number,
name, international designator, epoch, mean elements and -- where known --
the shell, plane and slot it belongs to.  For a preset the shells are the
filed ones; for a real catalog they are found by grouping satellites by
inclination and mean altitude (:func:`find_shells`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sgp4.api import Satrec, SatrecArray

__all__ = ["Constellation", "SkippedRecord", "find_shells", "mean_altitude_km"]

#: WGS-72 gravitational parameter [km^3 s^-2], the one SGP4 element sets are fitted with
#: (Vallado et al. 2006, AIAA 2006-6753).
MU_WGS72_KM3_S2 = 398600.8
#: WGS-84 equatorial radius [km] (NIMA TR8350.2).
EARTH_EQUATORIAL_RADIUS_KM = 6378.137

_SATELLITE_COLUMNS = (
    "norad_id",
    "name",
    "intl_designator",
    "epoch",
    "inclination_deg",
    "raan_deg",
    "eccentricity",
    "arg_perigee_deg",
    "mean_anomaly_deg",
    "mean_motion_rev_per_day",
    "bstar",
    "alt_km",
    "shell",
    "plane",
    "slot",
)


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out by a reader called with ``skip_invalid=True``.

    ``location`` is ``"line 12"`` or ``"record 3"``; ``reason`` is the one-line
    message the :class:`~skyfence.errors.ElementsError` would have carried.
    """

    source: str
    location: str
    field: str | None
    reason: str

    def __str__(self) -> str:
        # Same shape as SkyfenceError: "file:12: field f: reason" or "file record 3: field f: reason".
        where = (
            f"{self.source}:{self.location.removeprefix('line ')}"
            if self.location.startswith("line ")
            else (f"{self.source} {self.location}")
        )
        if self.field:
            where += f": field {self.field}"
        return f"{where}: {self.reason}"


def mean_altitude_km(mean_motion_rev_per_day: np.ndarray | float) -> np.ndarray:
    """Mean altitude above the WGS-84 equatorial radius [km] from a Kozai mean motion [rev/day].

    Uses Kepler's third law with the WGS-72 ``mu`` SGP4 uses.  This is a label
    for grouping satellites into shells (it ignores the J2 difference between
    Kozai and Brouwer mean motion, a few km), not a position.
    """
    n_rad_s = np.asarray(mean_motion_rev_per_day, dtype=float) * 2.0 * np.pi / 86400.0
    with np.errstate(divide="ignore", invalid="ignore"):
        a_km = np.cbrt(MU_WGS72_KM3_S2 / n_rad_s**2)
    return a_km - EARTH_EQUATORIAL_RADIUS_KM


def _gap_clusters(values: np.ndarray, max_gap: float) -> np.ndarray:
    """Label sorted-order clusters of 1-D ``values`` split where neighbours differ by more than ``max_gap``."""
    order = np.argsort(values, kind="stable")
    breaks = np.diff(values[order]) > max_gap
    labels_sorted = np.concatenate([[0], np.cumsum(breaks)])
    labels = np.empty(len(values), dtype=np.int64)
    labels[order] = labels_sorted
    return labels


def find_shells(
    alt_km: np.ndarray,
    inclination_deg: np.ndarray,
    *,
    inclination_gap_deg: float = 0.3,
    altitude_window_km: float = 6.0,
    min_shell_size: int = 10,
) -> np.ndarray:
    """Group satellites of a real catalog into shells; ``-1`` for satellites in no shell.

    Satellites are first split by inclination wherever sorted inclinations
    jump by more than ``inclination_gap_deg``.  Inside an inclination group a
    satellite is *on station* when at least ``min_shell_size`` satellites of
    the group lie within ``altitude_window_km`` of its altitude; on-station
    satellites are split into shells where sorted altitudes jump by more than
    ``altitude_window_km``.  Satellites raising or lowering their orbit (or
    too few to form a shell) are therefore left out with ``-1`` rather than
    bridging two shells.  Shells are numbered by increasing altitude, then
    inclination.

    Parameters
    ----------
    alt_km
        Mean altitude [km] (see :func:`mean_altitude_km`).
    inclination_deg
        Inclination [deg].
    """
    alt = np.asarray(alt_km, dtype=float)
    inc = np.asarray(inclination_deg, dtype=float)
    shell = np.full(len(alt), -1, dtype=np.int64)
    if len(alt) == 0:
        return shell
    finite = np.isfinite(alt) & np.isfinite(inc)
    idx = np.flatnonzero(finite)
    inc_group = _gap_clusters(inc[idx], inclination_gap_deg)
    keys: list[tuple[float, float, np.ndarray]] = []
    for g in np.unique(inc_group):
        members = idx[inc_group == g]
        a = np.sort(alt[members])
        lo = np.searchsorted(a, alt[members] - altitude_window_km / 2, side="left")
        hi = np.searchsorted(a, alt[members] + altitude_window_km / 2, side="right")
        on_station = members[(hi - lo) >= min_shell_size]
        if len(on_station) < min_shell_size:
            continue
        alt_group = _gap_clusters(alt[on_station], altitude_window_km)
        for h in np.unique(alt_group):
            sats = on_station[alt_group == h]
            if len(sats) >= min_shell_size:
                keys.append((float(np.median(alt[sats])), float(np.median(inc[sats])), sats))
    for number, (_, _, sats) in enumerate(sorted(keys, key=lambda k: (round(k[0]), k[1]))):
        shell[sats] = number
    return shell


def _epochs(satrecs: Sequence[Satrec]) -> np.ndarray:
    """Element epochs as UTC ``datetime64[ns]`` from SGP4's two-part Julian date (whole part exact)."""
    jd = np.array([s.jdsatepoch for s in satrecs], dtype=float)
    fr = np.array([s.jdsatepochF for s in satrecs], dtype=float)
    # JD 2440587.5 is 1970-01-01T00:00 UTC.  Convert the parts separately so the day count stays exact.
    ns = np.round((jd - 2440587.5) * 86400e9).astype("int64") + np.round(fr * 86400e9).astype("int64")
    return ns.astype("datetime64[ns]")


@dataclass(frozen=True, eq=False)
class Constellation:
    """A set of satellites with SGP4 elements, in a fixed order.

    Attributes
    ----------
    name
        Human label ("starlink_20250923", "starlink-gen1").
    satrecs
        One ``sgp4.api.Satrec`` per satellite; row ``i`` of :attr:`satellites`
        describes ``satrecs[i]``.
    satellites
        Table, one row per satellite: ``norad_id`` (int64; catalog number,
        9 digits allowed, synthetic for presets), ``name``,
        ``intl_designator`` (``"2019-029A"``), ``epoch`` (UTC
        ``datetime64[ns]``), mean elements (``inclination_deg``, ``raan_deg``,
        ``eccentricity``, ``arg_perigee_deg``, ``mean_anomaly_deg``,
        ``mean_motion_rev_per_day``, ``bstar``), ``alt_km`` (mean altitude),
        ``shell``, ``plane`` and ``slot`` (int64, ``-1`` where unknown).
    shells
        One row per shell: ``shell``, ``name``, ``alt_km``,
        ``inclination_deg``, ``n_planes``, ``sats_per_plane`` (``-1`` when
        unknown), ``count``.
    source
        Where it came from (file path, preset name, ``celestrak:GROUP``).
    skipped
        Records a reader left out because they were invalid.
    """

    name: str
    satrecs: tuple[Satrec, ...]
    satellites: pd.DataFrame
    shells: pd.DataFrame
    source: str = ""
    skipped: tuple[SkippedRecord, ...] = field(default=())

    @classmethod
    def from_satrecs(
        cls,
        name: str,
        satrecs: Sequence[Satrec],
        *,
        norad_ids: Iterable[int] | None = None,
        names: Iterable[str] | None = None,
        intl_designators: Iterable[str] | None = None,
        shell: Iterable[int] | None = None,
        plane: Iterable[int] | None = None,
        slot: Iterable[int] | None = None,
        shell_info: pd.DataFrame | None = None,
        source: str = "",
        skipped: Iterable[SkippedRecord] = (),
    ) -> Constellation:
        """Build a constellation from element sets and their metadata.

        When ``shell`` is not given, shells are found with :func:`find_shells`.
        ``shell_info`` may give per-shell metadata (columns as in
        :attr:`shells`, ``count`` is recomputed); otherwise it is derived.
        """
        satrecs = tuple(satrecs)
        n = len(satrecs)

        def column(values: Iterable | None, default: Any, dtype: Any) -> np.ndarray:
            if values is None:
                return np.full(n, default, dtype=dtype)
            arr = np.asarray(list(values), dtype=dtype)
            if arr.shape != (n,):
                raise ValueError(f"expected {n} values, got {arr.shape}")
            return arr

        deg = 180.0 / np.pi
        inc = np.array([s.inclo for s in satrecs], dtype=float) * deg
        n_rev_day = np.array([s.no_kozai for s in satrecs], dtype=float) * 1440.0 / (2 * np.pi)
        alt = mean_altitude_km(n_rev_day)
        table = pd.DataFrame(
            {
                "norad_id": column(norad_ids if norad_ids is not None else [s.satnum for s in satrecs], 0, np.int64),
                "name": column(names, "", object),
                "intl_designator": column(intl_designators, "", object),
                "epoch": _epochs(satrecs) if n else np.array([], dtype="datetime64[ns]"),
                "inclination_deg": inc,
                "raan_deg": np.array([s.nodeo for s in satrecs], dtype=float) * deg,
                "eccentricity": np.array([s.ecco for s in satrecs], dtype=float),
                "arg_perigee_deg": np.array([s.argpo for s in satrecs], dtype=float) * deg,
                "mean_anomaly_deg": np.array([s.mo for s in satrecs], dtype=float) * deg,
                "mean_motion_rev_per_day": n_rev_day,
                "bstar": np.array([s.bstar for s in satrecs], dtype=float),
                "alt_km": alt,
                "shell": column(shell, -1, np.int64) if shell is not None else find_shells(alt, inc),
                "plane": column(plane, -1, np.int64),
                "slot": column(slot, -1, np.int64),
            },
            columns=list(_SATELLITE_COLUMNS),
        )
        shells = _shell_table(table, shell_info)
        return cls(name=name, satrecs=satrecs, satellites=table, shells=shells, source=source, skipped=tuple(skipped))

    def __len__(self) -> int:
        return len(self.satrecs)

    @cached_property
    def satrec_array(self) -> SatrecArray:
        """All element sets as one ``SatrecArray`` (built once)."""
        return SatrecArray(list(self.satrecs))

    @property
    def epoch_range(self) -> tuple[np.datetime64, np.datetime64] | None:
        """Earliest and latest element epoch (UTC), or ``None`` when empty."""
        if not len(self):
            return None
        epochs = self.satellites["epoch"].to_numpy()
        return epochs.min(), epochs.max()

    def subset(self, selector: np.ndarray | Sequence[int] | slice, *, name: str | None = None) -> Constellation:
        """A constellation with the selected satellites (boolean mask, indices or slice), same order."""
        index = np.arange(len(self))[selector]
        table = self.satellites.iloc[index].reset_index(drop=True)
        known = self.shells[self.shells["shell"].isin(table["shell"].unique())]
        return Constellation(
            name=name or self.name,
            satrecs=tuple(self.satrecs[i] for i in index),
            satellites=table,
            shells=_shell_table(table, known),
            source=self.source,
            skipped=self.skipped,
        )

    def summary(self) -> dict[str, Any]:
        """Counts, shells, epoch range and invalid records, JSON-ready (what ``skyfence catalog info`` prints)."""
        from skyfence.orbits.time import iso_utc

        epochs = self.epoch_range
        return {
            "source": self.source,
            "name": self.name,
            "satellites": len(self),
            "epoch_min": None if epochs is None else iso_utc(epochs[0], unit="ms"),
            "epoch_max": None if epochs is None else iso_utc(epochs[1], unit="ms"),
            "shells": [
                {
                    "shell": int(row.shell),
                    "name": str(row.name),
                    "alt_km": round(float(row.alt_km), 1),
                    "inclination_deg": round(float(row.inclination_deg), 2),
                    "n_planes": None if row.n_planes < 0 else int(row.n_planes),  # null: not known
                    "sats_per_plane": None if row.sats_per_plane < 0 else int(row.sats_per_plane),
                    "count": int(row.count),
                }
                for row in self.shells.itertuples()
            ],
            "not_in_a_shell": int((self.satellites["shell"] < 0).sum()),
            "invalid_records": [str(s) for s in self.skipped],
        }

    def __repr__(self) -> str:
        return f"<Constellation {self.name!r}: {len(self)} satellites in {len(self.shells)} shells>"


def _shell_table(table: pd.DataFrame, info: pd.DataFrame | None) -> pd.DataFrame:
    """Per-shell summary; metadata from ``info`` where given, medians of the members otherwise."""
    columns = ["shell", "name", "alt_km", "inclination_deg", "n_planes", "sats_per_plane", "count"]
    members = table[table["shell"] >= 0].groupby("shell")
    derived = pd.DataFrame(
        {
            "alt_km": members["alt_km"].median(),
            "inclination_deg": members["inclination_deg"].median(),
            "n_planes": members["plane"].agg(lambda p: p[p >= 0].nunique() or -1),
            "count": members.size(),
        }
    ).reset_index()
    derived["sats_per_plane"] = -1
    derived["name"] = [
        f"{a:.0f} km / {i:.1f} deg" for a, i in zip(derived["alt_km"], derived["inclination_deg"], strict=True)
    ]
    if info is not None and len(info):
        meta = info.drop(columns=[c for c in ("count",) if c in info.columns]).set_index("shell")
        derived = derived.set_index("shell")
        for col in meta.columns:
            if col in derived.columns:
                derived.loc[meta.index.intersection(derived.index), col] = meta[col]
        derived = derived.reset_index()
    return derived.reindex(columns=columns).sort_values("shell").reset_index(drop=True)
