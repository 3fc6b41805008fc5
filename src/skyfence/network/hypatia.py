"""Hypatia compatibility: read satgenpy inputs, write its dynamic state, much faster.

Hypatia (Kassing et al. 2020) generates routing state for its ns-3 module with
``satgenpy``.  This module reads the same inputs from one directory

``tles.txt``
    first line ``<n_orbits> <sats_per_orbit>``, then three-line TLEs whose name
    line ends with the satellite id (0, 1, 2, ...); all TLEs share one epoch,
    which is t = 0.
``isls.txt``
    one ISL per line, ``<a> <b>`` with ``a < b`` (satellite ids).
``ground_stations.txt``
    ``gid,name,lat_deg,lon_deg,elevation_m,x_m,y_m,z_m`` (the "extended" format;
    x, y, z are Earth-fixed on the WGS-72 ellipsoid).
``description.txt``
    ``max_gsl_length_m=...`` and ``max_isl_length_m=...``.
``gsl_interfaces_info.txt`` (optional)
    ``node_id,number_of_interfaces,aggregate_max_bandwidth``; when absent every
    node has one interface of bandwidth 1.0.

and writes, per time step ``t_ns``, ``fstate_<t_ns>.txt`` (every entry at the
first step, only changed entries after) and ``gsl_if_bandwidth_<t_ns>.txt``
(filled at t = 0, empty after) exactly as satgenpy's
``algorithm_free_one_only_over_isls`` does:

* a ground station ``g`` and a satellite ``s`` are in range when their straight
  distance is ``<= max_gsl_length_m``;
* for every satellite ``curr`` and destination ground station ``g`` the exit
  satellite minimises (ISL path length to it + its GSL length to ``g``); the
  next hop is the ISL neighbour of ``curr`` that minimises (ISL length + the
  neighbour's remaining distance), the first such neighbour in ``isls.txt``
  order on ties; the exit satellite itself forwards to ``g``;
* a source ground station sends to the in-range satellite minimising (GSL
  length + that satellite's distance to the destination), the lowest
  satellite id on ties;
* no ground-station relaying; ``-1,-1,-1`` when the destination cannot be
  reached;
* line format ``current,destination,next_hop,my_if,next_hop_if``, node ids
  satellites first (``0..N-1``) then ground stations (``N..N+G-1``);
  interfaces: a satellite's ISL interfaces are numbered in ``isls.txt`` order,
  its GSL interface follows them (``num_isls``); a ground station's GSL
  interface is 0.

How it is faster: satgenpy runs Floyd--Warshall over all satellites
(``O(N^3)``, 4e9 operations for 1,584 satellites) and loops in Python over
every (satellite, ground station) pair.  Here the ISL graph plus one directed
GSL edge per in-range pair is handed to ``scipy.sparse.csgraph.dijkstra`` from
the G ground-station nodes only (``O(G N log N)``): the distance of every
satellite to every ground station, which is all the next-hop rule needs; the
rules themselves are numpy array operations.  **Ties.**  Where two options
are within :data:`TIE_TOLERANCE_M` (1 cm) of each other -- exact ties in
exact arithmetic, frequent in the symmetric polar and 70-degree shells --
satgenpy's choice depends on the last bits of its Floyd--Warshall sums; those
entries are re-decided with satgenpy's rules on Floyd--Warshall values
recomputed to the last bit on the (few) satellites of the tied paths
(:class:`_FloydWarshallValues`).  On W1 and on the five-shell Gen1 variant of
W1 every entry equals a literal port of satgenpy's loops (tested).

**Positions.**  satgenpy computes distances with pyephem (libastro's SGP4,
Earth rotation from sidereal time on the given UTC date, i.e. UT1 = UTC, no
polar motion; ranges stored as 32-bit floats).  ``frame="hypatia"`` (the
default here) follows the same rules with python-sgp4 (Vallado et al. 2006)
and GMST-1982 of the UTC time; ground stations are the x, y, z columns of
``ground_stations.txt``.  On the W1 inputs (Starlink-550, 100 cities, t = 0, 1,
2 s) our GSL lengths differ from pyephem's by -2 m on average (standard
deviation 23 m, at most 50 m) and ISL lengths by -6 +/- 3 m, and the
in-range sets are identical at all three steps (918, 917, 917 pairs; the pair
closest to the limit is 50 m from it): tested in ``tests/network``.
``frame="itrf"`` uses skyfence's full chain instead (UT1 and polar motion from
skyfield), which moves ground-fixed points by about 160 m in 2000 (UT1-UTC =
+0.355 s) and is not what Hypatia computes.

References
----------
Kassing, S., Bhattacherjee, D., Aguas, A. B., Saethre, J. E., Singla, A.
(2020). Exploring the "Internet from space" with Hypatia. ACM IMC 2020.
https://github.com/snkas/hypatia (satgenpy/satgen/dynamic_state).
Vallado, D. A., Crawford, P., Hujsak, R., Kelso, T. S. (2006). Revisiting
Spacetrack Report #3. AIAA 2006-6753 (SGP4; GMST-1982 in ``gstime``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from skyfence.errors import InputError

__all__ = [
    "SPEED_OF_LIGHT_M_S",
    "ForwardingState",
    "HypatiaInputs",
    "compute_forwarding_state",
    "format_int_rows",
    "generate_dynamic_state",
    "gmst82_rad",
    "hypatia_positions_m",
    "hypatia_time_offsets_ns",
    "read_description",
    "read_ground_stations",
    "read_gsl_interfaces_info",
    "read_hypatia_inputs",
    "read_isls",
    "read_tles",
]

#: Speed of light in vacuum [m/s] (exact, SI definition).
SPEED_OF_LIGHT_M_S = 299_792_458.0

Frame = Literal["hypatia", "itrf"]


# ---------------------------------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HypatiaInputs:
    """The satgenpy inputs of one constellation + ground segment, validated.

    Attributes
    ----------
    directory
        Where they were read from.
    n_orbits, sats_per_orbit
        From the first line of ``tles.txt``.
    satrecs
        One ``sgp4.api.Satrec`` per satellite, in id order.
    satellite_names
        TLE name lines.
    epoch_jd
        Common TLE epoch as (whole, fraction) Julian date, UTC: t = 0.
    ground_station_names
        Names from ``ground_stations.txt``.
    ground_lat_deg, ground_lon_deg, ground_elevation_m
        Geodetic position columns [deg, deg, m].
    ground_xyz_m
        Earth-fixed position columns ``(G, 3)`` [m] (WGS-72 ellipsoid in satgenpy's generator).
    isls
        ``(E, 2)`` satellite ids, file order.
    max_gsl_length_m, max_isl_length_m
        From ``description.txt`` [m].
    gsl_interfaces
        ``(N + G,)`` number of GSL interfaces per node.
    gsl_bandwidth
        ``(N + G,)`` aggregate maximum GSL bandwidth per node (unit as in the file).
    """

    directory: Path
    n_orbits: int
    sats_per_orbit: int
    satrecs: tuple
    satellite_names: tuple[str, ...]
    epoch_jd: tuple[float, float]
    ground_station_names: tuple[str, ...]
    ground_lat_deg: np.ndarray
    ground_lon_deg: np.ndarray
    ground_elevation_m: np.ndarray
    ground_xyz_m: np.ndarray
    isls: np.ndarray
    max_gsl_length_m: float
    max_isl_length_m: float
    gsl_interfaces: np.ndarray
    gsl_bandwidth: np.ndarray

    @property
    def n_satellites(self) -> int:
        """Number of satellites N."""
        return len(self.satrecs)

    @property
    def n_ground_stations(self) -> int:
        """Number of ground stations G."""
        return len(self.ground_station_names)

    @property
    def epoch(self) -> np.datetime64:
        """t = 0 as UTC ``datetime64[ns]``."""
        whole, frac = self.epoch_jd
        days = (whole - 2440587.5) + frac
        return np.datetime64(round(days * 86400e9), "ns")


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(path), hint="give a satgenpy text file") from None
    return text.splitlines()


def _rows(path: Path, columns: int, fmt: str, sep: str | None = ",") -> Iterator[tuple[int, list[str]]]:
    """``(line number, columns)`` of each non-blank line, which must have exactly ``columns`` fields."""
    for number, text in enumerate(_lines(path), start=1):
        if not text.strip():
            continue
        cols = text.split(sep)
        if len(cols) != columns:
            raise InputError(
                f"{len(cols)} columns, expected {columns}", source=str(path), line=number, hint=f"format: {fmt}"
            )
        yield number, cols


def _int(text: str, path: Path, line: int, what: str, *, minimum: int = 0) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InputError(f"{what} {text.strip()!r} is not an integer", source=str(path), line=line) from None
    if value < minimum:
        raise InputError(f"{what} {value} is below {minimum}", source=str(path), line=line)
    return value


def _float(text: str, path: Path, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what} {text.strip()!r} is not a number", source=str(path), line=line) from None
    if not np.isfinite(value):
        raise InputError(f"{what} is not finite", source=str(path), line=line)
    return value


def read_tles(path: str | os.PathLike[str]) -> tuple[int, int, tuple, tuple[str, ...], tuple[float, float]]:
    """Read satgenpy's ``tles.txt``.

    Returns ``(n_orbits, sats_per_orbit, satrecs, names, epoch_jd)``.  Raises
    :class:`~skyfence.errors.InputError` naming the line when the header is not
    two integers, a record is incomplete, a satellite id is out of sequence,
    SGP4 rejects a TLE or epochs differ (Hypatia's rules).
    """
    from sgp4.api import WGS72, Satrec

    path = Path(path)
    lines = _lines(path)
    if not lines:
        raise InputError("empty file", source=str(path), hint="first line must be '<n_orbits> <sats_per_orbit>'")
    header = lines[0].split()
    if len(header) != 2:
        raise InputError(
            f"header has {len(header)} fields, expected 2",
            source=str(path),
            line=1,
            hint="first line must be '<n_orbits> <sats_per_orbit>'",
        )
    n_orbits = _int(header[0], path, 1, "n_orbits", minimum=1)
    sats_per_orbit = _int(header[1], path, 1, "sats_per_orbit", minimum=1)
    body = [(i + 2, text) for i, text in enumerate(lines[1:]) if text.strip()]
    if len(body) % 3:
        raise InputError(
            f"{len(body)} non-empty lines after the header is not a multiple of 3",
            source=str(path),
            line=body[-1][0],
            hint="each satellite needs a name line and two TLE lines",
        )
    satrecs, names = [], []
    epoch: tuple[float, float] | None = None
    for sid in range(len(body) // 3):
        (ln0, name), (ln1, l1), (ln2, l2) = body[3 * sid : 3 * sid + 3]
        parts = name.split()
        if len(parts) < 2 or _int(parts[-1], path, ln0, "satellite id") != sid:
            raise InputError(
                f"name line must end with satellite id {sid}",
                source=str(path),
                line=ln0,
                hint="satgenpy numbers satellites 0, 1, 2, ... in file order",
            )
        if not (l1.startswith("1 ") and l2.startswith("2 ")):
            bad = ln1 if not l1.startswith("1 ") else ln2
            raise InputError("expected TLE line 1 then line 2", source=str(path), line=bad)
        try:
            sat = Satrec.twoline2rv(l1, l2, WGS72)
        except (ValueError, IndexError) as error:
            raise InputError(f"unreadable TLE: {error}", source=str(path), line=ln1) from None
        if sat.error:
            raise InputError(f"SGP4 rejects this TLE (error {sat.error})", source=str(path), line=ln1)
        this_epoch = (sat.jdsatepoch, sat.jdsatepochF)
        if epoch is None:
            epoch = this_epoch
        elif abs((this_epoch[0] - epoch[0]) + (this_epoch[1] - epoch[1])) > 1e-9:
            raise InputError(
                "epoch differs from the first TLE's",
                source=str(path),
                line=ln1,
                hint="satgenpy requires one epoch for all TLEs (t = 0)",
            )
        satrecs.append(sat)
        names.append(name.strip())
    if not satrecs:
        raise InputError("no satellites", source=str(path))
    if n_orbits * sats_per_orbit != len(satrecs):
        raise InputError(
            f"header says {n_orbits} x {sats_per_orbit} = {n_orbits * sats_per_orbit} satellites, "
            f"file has {len(satrecs)}",
            source=str(path),
            line=1,
        )
    assert epoch is not None
    return n_orbits, sats_per_orbit, tuple(satrecs), tuple(names), epoch


def read_ground_stations(path: str | os.PathLike[str]) -> dict[str, np.ndarray | tuple[str, ...]]:
    """Read satgenpy's extended ``ground_stations.txt`` (8 columns).

    Returns a dict with ``names``, ``lat_deg``, ``lon_deg``, ``elevation_m``,
    ``xyz_m`` ``(G, 3)``.  Wrong column count, a non-number or an id out of
    sequence raise :class:`~skyfence.errors.InputError` naming file and line.
    """
    path = Path(path)
    names: list[str] = []
    values: list[list[float]] = []
    for number, cols in _rows(path, 8, "gid,name,lat_deg,lon_deg,elevation_m,x_m,y_m,z_m"):
        gid = _int(cols[0], path, number, "ground station id")
        if gid != len(names):
            raise InputError(
                f"ground station id {gid}, expected {len(names)}",
                source=str(path),
                line=number,
                hint="ids must be 0, 1, 2, ... in file order",
            )
        row = [
            _float(c, path, number, what)
            for c, what in zip(cols[2:], ("latitude", "longitude", "elevation", "x", "y", "z"), strict=True)
        ]
        if not -90.0 <= row[0] <= 90.0:
            raise InputError(f"latitude {row[0]} outside [-90, 90]", source=str(path), line=number)
        names.append(cols[1])
        values.append(row)
    if not names:
        raise InputError("no ground stations", source=str(path))
    table = np.array(values, dtype=float)
    return {
        "names": tuple(names),
        "lat_deg": table[:, 0],
        "lon_deg": table[:, 1],
        "elevation_m": table[:, 2],
        "xyz_m": np.ascontiguousarray(table[:, 3:6]),
    }


def read_isls(path: str | os.PathLike[str], n_satellites: int) -> np.ndarray:
    """Read satgenpy's ``isls.txt`` into an ``(E, 2)`` int64 array, file order.

    Each line is ``a b`` with ``0 <= a < b < n_satellites``; duplicates are
    rejected.  Errors name file and line.
    """
    path = Path(path)
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for number, cols in _rows(path, 2, "'<sat a> <sat b>' with a < b", sep=None):
        a = _int(cols[0], path, number, "satellite id")
        b = _int(cols[1], path, number, "satellite id")
        for sid in (a, b):
            if sid >= n_satellites:
                raise InputError(
                    f"satellite {sid} does not exist (tles.txt has {n_satellites})",
                    source=str(path),
                    line=number,
                    hint=f"ids run from 0 to {n_satellites - 1}",
                )
        if b <= a:
            raise InputError(f"second id {b} must be larger than first {a}", source=str(path), line=number)
        if (a, b) in seen:
            raise InputError(f"duplicate ISL {a} {b}", source=str(path), line=number)
        seen.add((a, b))
        pairs.append((a, b))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def read_description(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read ``description.txt`` (``key=value`` lines); needs ``max_gsl_length_m`` and ``max_isl_length_m`` [m]."""
    path = Path(path)
    found: dict[str, float] = {}
    for number, text in enumerate(_lines(path), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if "=" not in text:
            raise InputError("expected key=value", source=str(path), line=number)
        key, value = (part.strip() for part in text.split("=", 1))
        if key in ("max_gsl_length_m", "max_isl_length_m"):
            found[key] = _float(value, path, number, key)
            if found[key] <= 0:
                raise InputError(f"{key} must be positive", source=str(path), line=number)
    for key in ("max_gsl_length_m", "max_isl_length_m"):
        if key not in found:
            raise InputError(f"missing {key}", source=str(path), hint=f"add a line '{key}=<metres>'")
    return found


def read_gsl_interfaces_info(
    path: str | os.PathLike[str], n_satellites: int, n_ground_stations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``gsl_interfaces_info.txt``: (number of interfaces, aggregate bandwidth) per node, ids in order."""
    path = Path(path)
    counts: list[int] = []
    bandwidths: list[float] = []
    for number, cols in _rows(path, 3, "node_id,number_of_interfaces,aggregate_max_bandwidth"):
        node = _int(cols[0], path, number, "node id")
        if node != len(counts):
            raise InputError(f"node id {node}, expected {len(counts)}", source=str(path), line=number)
        counts.append(_int(cols[1], path, number, "number of interfaces", minimum=1))
        bandwidth = _float(cols[2], path, number, "aggregate bandwidth")
        if bandwidth <= 0:
            raise InputError("aggregate bandwidth must be positive", source=str(path), line=number)
        bandwidths.append(bandwidth)
    expected = n_satellites + n_ground_stations
    if len(counts) != expected:
        raise InputError(f"{len(counts)} nodes, expected {expected} (satellites + ground stations)", source=str(path))
    return np.array(counts, dtype=np.int64), np.array(bandwidths, dtype=float)


def read_hypatia_inputs(directory: str | os.PathLike[str]) -> HypatiaInputs:
    """Read and validate the satgenpy inputs in ``directory`` (see the module docstring)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(
            "not a directory",
            source=str(directory),
            hint="give the folder holding tles.txt, isls.txt, ground_stations.txt, description.txt",
        )
    for name in ("tles.txt", "isls.txt", "ground_stations.txt", "description.txt"):
        if not (directory / name).is_file():
            raise InputError(f"missing {name}", source=str(directory), hint="satgenpy inputs need all four files")
    n_orbits, per_orbit, satrecs, names, epoch = read_tles(directory / "tles.txt")
    ground = read_ground_stations(directory / "ground_stations.txt")
    isls = read_isls(directory / "isls.txt", len(satrecs))
    description = read_description(directory / "description.txt")
    n_gs = len(ground["names"])
    info = directory / "gsl_interfaces_info.txt"
    if info.is_file():
        counts, bandwidth = read_gsl_interfaces_info(info, len(satrecs), n_gs)
    else:
        counts = np.ones(len(satrecs) + n_gs, dtype=np.int64)
        bandwidth = np.ones(len(satrecs) + n_gs, dtype=float)
    return HypatiaInputs(
        directory=directory,
        n_orbits=n_orbits,
        sats_per_orbit=per_orbit,
        satrecs=satrecs,
        satellite_names=names,
        epoch_jd=epoch,
        ground_station_names=ground["names"],  # type: ignore[arg-type]
        ground_lat_deg=ground["lat_deg"],  # type: ignore[arg-type]
        ground_lon_deg=ground["lon_deg"],  # type: ignore[arg-type]
        ground_elevation_m=ground["elevation_m"],  # type: ignore[arg-type]
        ground_xyz_m=ground["xyz_m"],  # type: ignore[arg-type]
        isls=isls,
        max_gsl_length_m=description["max_gsl_length_m"],
        max_isl_length_m=description["max_isl_length_m"],
        gsl_interfaces=counts,
        gsl_bandwidth=bandwidth,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------------------------------


def gmst82_rad(jd_whole: np.ndarray, jd_fraction: np.ndarray) -> np.ndarray:
    """Greenwich mean sidereal time, IAU 1982 [rad, 0..2pi), of a Julian date taken as UT1.

    The formula of Vallado et al. (2006) ``gstime`` (Aoki et al. 1982), the
    one TEME is defined with.  Passing UTC for UT1 is Hypatia's/pyephem's rule.
    """
    days = (np.asarray(jd_whole, dtype=float) - 2451545.0) + np.asarray(jd_fraction, dtype=float)
    t = days / 36525.0
    seconds = 67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t * t - 6.2e-6 * t * t * t
    return np.mod(np.radians(seconds / 240.0), 2.0 * np.pi)


def hypatia_time_offsets_ns(duration_ns: int, step_ns: int) -> np.ndarray:
    """satgenpy's time steps: ``0, step, ...`` strictly below ``duration`` [ns] (3 s at 1 s -> 0, 1, 2 s)."""
    duration_ns, step_ns = int(duration_ns), int(step_ns)
    if step_ns <= 0:
        raise InputError(f"step must be positive, got {step_ns} ns", field="step", hint="e.g. --step 1s")
    if duration_ns < step_ns:
        raise InputError("duration is shorter than one step", field="duration", hint="e.g. --duration 3s --step 1s")
    return np.arange(0, (duration_ns // step_ns) * step_ns, step_ns, dtype=np.int64)


def hypatia_positions_m(
    satrecs, epoch_jd: tuple[float, float], offsets_ns: np.ndarray, *, frame: Frame = "hypatia"
) -> np.ndarray:
    """Earth-fixed satellite positions ``(N, T, 3)`` [m] at ``epoch + offsets_ns``.

    ``frame="hypatia"``: TEME rotated by GMST-1982 of the UTC time (UT1 = UTC,
    no polar motion), Hypatia's/pyephem's rule.  ``frame="itrf"``: skyfence's
    chain (skyfield's UT1 and polar motion), see
    :func:`skyfence.orbits.propagate.teme_to_itrf_matrices`.  SGP4 failures
    give NaN rows.
    """
    from sgp4.api import SatrecArray

    offsets_ns = np.atleast_1d(np.asarray(offsets_ns, dtype=np.int64))
    whole = np.full(offsets_ns.shape, float(epoch_jd[0]))
    frac = float(epoch_jd[1]) + offsets_ns / 86400e9
    error, r_teme_km, _ = SatrecArray(list(satrecs)).sgp4(whole, frac)
    if frame == "hypatia":
        theta = gmst82_rad(whole, frac)
        c, s = np.cos(theta), np.sin(theta)
        x = c * r_teme_km[..., 0] + s * r_teme_km[..., 1]
        y = -s * r_teme_km[..., 0] + c * r_teme_km[..., 1]
        position_km = np.stack([x, y, r_teme_km[..., 2]], axis=-1)
    elif frame == "itrf":
        from skyfence.orbits.propagate import teme_to_itrf_matrices

        epoch = np.datetime64(round(((epoch_jd[0] - 2440587.5) + epoch_jd[1]) * 86400e9), "ns")
        rotation = teme_to_itrf_matrices(epoch + offsets_ns.astype("timedelta64[ns]"))
        position_km = np.einsum("tij,stj->sti", rotation, r_teme_km)
    else:
        raise InputError(f"unknown frame {frame!r}", field="frame", hint="use 'hypatia' or 'itrf'")
    position_km[error != 0] = np.nan
    return position_km * 1000.0


# ---------------------------------------------------------------------------------------------------------------------
# Forwarding state
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Topology:
    """ISL adjacency in satgenpy's interface order (fixed over time)."""

    neighbour: np.ndarray  # (N, K) neighbour id per interface, -1 pad
    reverse_if: np.ndarray  # (N, K) interface index on the neighbour for the link back
    edge_of: np.ndarray  # (N, K) ISL row index, -1 pad
    num_isls: np.ndarray  # (N,)


def _topology(isls: np.ndarray, n_satellites: int) -> _Topology:
    num = np.zeros(n_satellites, dtype=np.int64)
    np.add.at(num, isls[:, 0], 1)
    np.add.at(num, isls[:, 1], 1)
    k_max = int(num.max()) if len(isls) else 0
    neighbour = np.full((n_satellites, max(k_max, 1)), -1, dtype=np.int64)
    reverse_if = np.full_like(neighbour, -1)
    edge_of = np.full_like(neighbour, -1)
    # Interface index of each endpoint = count of earlier ISLs at that satellite (file order).
    ends = np.stack([isls[:, 0], isls[:, 1]], axis=1).ravel()  # a0 b0 a1 b1 ...
    order = np.argsort(ends, kind="stable")
    sorted_ends = ends[order]
    first = np.searchsorted(sorted_ends, sorted_ends, side="left")
    slot_sorted = np.arange(len(sorted_ends)) - first
    slot = np.empty_like(slot_sorted)
    slot[order] = slot_sorted
    slot = slot.reshape(-1, 2)
    a, b = isls[:, 0], isls[:, 1]
    edges = np.arange(len(isls))
    neighbour[a, slot[:, 0]] = b
    neighbour[b, slot[:, 1]] = a
    reverse_if[a, slot[:, 0]] = slot[:, 1]
    reverse_if[b, slot[:, 1]] = slot[:, 0]
    edge_of[a, slot[:, 0]] = edges
    edge_of[b, slot[:, 1]] = edges
    return _Topology(neighbour, reverse_if, edge_of, num)


@dataclass(frozen=True)
class ForwardingState:
    """satgenpy's forwarding state at one time step, plus the distances behind it.

    ``decision`` has one row per fstate entry in satgenpy's line order (every
    satellite x every destination ground station, then every ordered pair of
    distinct ground stations): ``(next_hop, my_if, next_hop_if)``, ``-1`` when
    unreachable.  ``current`` and ``destination`` give the entry's node ids.
    """

    time_ns: int
    current: np.ndarray
    destination: np.ndarray
    decision: np.ndarray
    sat_to_gs_m: np.ndarray  # (G, N) best distance from each satellite to each ground station [m], inf unreachable
    gs_to_gs_m: np.ndarray  # (G, G) path length between ground stations [m], inf unreachable, 0 on the diagonal
    gsl_m: np.ndarray  # (G, N) GSL length where in range [m], inf elsewhere
    isl_m: np.ndarray  # (E,) ISL lengths [m]
    extra: dict = field(default_factory=dict)

    @property
    def gsl_pairs_in_range(self) -> int:
        """Number of (ground station, satellite) pairs within ``max_gsl_length_m``."""
        return int(np.isfinite(self.gsl_m).sum())

    def rtt_ms(self) -> np.ndarray:
        """Round-trip propagation delay between ground stations ``(G, G)`` [ms]; NaN when unreachable."""
        with np.errstate(invalid="ignore"):
            rtt = 2.0 * self.gs_to_gs_m / SPEED_OF_LIGHT_M_S * 1e3
        return np.where(np.isfinite(rtt), rtt, np.nan)


def _entry_ids(n_sat: int, n_gs: int) -> tuple[np.ndarray, np.ndarray]:
    sat_cur = np.repeat(np.arange(n_sat, dtype=np.int64), n_gs)
    sat_dst = np.tile(np.arange(n_sat, n_sat + n_gs, dtype=np.int64), n_sat)
    src, dst = np.divmod(np.arange(n_gs * n_gs, dtype=np.int64), n_gs)
    keep = src != dst
    return (np.concatenate([sat_cur, n_sat + src[keep]]), np.concatenate([sat_dst, n_sat + dst[keep]]))


def compute_forwarding_state(
    sat_xyz_m: np.ndarray,
    ground_xyz_m: np.ndarray,
    isls: np.ndarray,
    max_gsl_length_m: float,
    *,
    max_isl_length_m: float = np.inf,
    time_ns: int = 0,
    isl_length_m: np.ndarray | None = None,
    gsl_length_m: np.ndarray | None = None,
    _topology_cache: _Topology | None = None,
) -> ForwardingState:
    """Forwarding state of ``algorithm_free_one_only_over_isls`` at one time (see the module docstring).

    Parameters
    ----------
    sat_xyz_m
        Satellite positions ``(N, 3)`` [m], Earth-fixed.
    ground_xyz_m
        Ground-station positions ``(G, 3)`` [m], same frame.
    isls
        ``(E, 2)`` satellite ids in ``isls.txt`` order (defines interface numbers).
    max_gsl_length_m, max_isl_length_m
        Range limits [m]; an ISL longer than ``max_isl_length_m`` is an error, as in satgenpy.
    isl_length_m, gsl_length_m
        Optional precomputed lengths ``(E,)`` and ``(G, N)`` [m] (e.g. from another
        propagator) used instead of distances between the positions.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    sat = np.asarray(sat_xyz_m, dtype=float)
    ground = np.asarray(ground_xyz_m, dtype=float)
    isls = np.asarray(isls, dtype=np.int64).reshape(-1, 2)
    n_sat, n_gs = len(sat), len(ground)
    topo = _topology_cache if _topology_cache is not None else _topology(isls, n_sat)

    if isl_length_m is None:
        isl_m = np.linalg.norm(sat[isls[:, 0]] - sat[isls[:, 1]], axis=1)
    else:
        isl_m = np.asarray(isl_length_m, dtype=float)
    too_long = ~(isl_m <= max_isl_length_m)
    if too_long.any():
        e = int(np.flatnonzero(too_long)[0])
        raise InputError(
            f"ISL {isls[e, 0]}-{isls[e, 1]} is {isl_m[e]:.2f} m long at t={time_ns} ns, "
            f"above max_isl_length_m={max_isl_length_m:.2f}",
            hint="raise max_isl_length_m in description.txt or remove the ISL (satgenpy stops here too)",
        )
    if gsl_length_m is None:
        diff = ground[:, None, :] - sat[None, :, :]
        gsl = np.sqrt(np.einsum("gsk,gsk->gs", diff, diff))
    else:
        gsl = np.asarray(gsl_length_m, dtype=float).copy()
    gsl[~(gsl <= max_gsl_length_m)] = np.inf
    gs_idx, sat_idx = np.nonzero(np.isfinite(gsl))  # sorted by ground station, then satellite id

    # Directed graph: ISLs both ways, GSLs only ground station -> satellite (no ground-station relaying).
    rows = np.concatenate([isls[:, 0], isls[:, 1], n_sat + gs_idx])
    cols = np.concatenate([isls[:, 1], isls[:, 0], sat_idx])
    weights = np.concatenate([isl_m, isl_m, gsl[gs_idx, sat_idx]])
    graph = csr_matrix((weights, (rows, cols)), shape=(n_sat + n_gs, n_sat + n_gs))
    dist = dijkstra(graph, directed=True, indices=np.arange(n_sat, n_sat + n_gs))[:, :n_sat]  # (G, N)

    # Satellite -> ground station: first neighbour (interface order) minimising ISL length + its distance.
    nbr = topo.neighbour
    valid = nbr >= 0
    w_nbr = np.where(valid, isl_m[np.where(valid, topo.edge_of, 0)], np.inf)  # (N, K)
    via = w_nbr[None, :, :] + dist[:, np.where(valid, nbr, 0)]  # (G, N, K)
    k_best = np.argmin(via, axis=2)  # first minimum = first interface
    best_via = np.take_along_axis(via, k_best[..., None], axis=2)[..., 0]
    direct = gsl <= best_via  # this satellite is the exit: downlink to the ground station
    reachable = np.isfinite(dist)
    sat_ids = np.arange(n_sat)
    nxt = np.where(direct, n_sat + np.arange(n_gs)[:, None], nbr[sat_ids[None, :], k_best])
    my_if = np.where(direct, topo.num_isls[None, :], k_best)
    nxt_if = np.where(direct, 0, topo.reverse_if[sat_ids[None, :], k_best])
    sat_decision = np.stack([nxt, my_if, nxt_if], axis=-1)  # (G, N, 3)
    sat_decision[~reachable] = -1
    sat_decision = sat_decision.transpose(1, 0, 2).reshape(-1, 3)  # satellite-major, as satgenpy writes

    # Ground station -> ground station: in-range satellite minimising GSL + its distance; lowest id on ties.
    gs_decision = np.full((n_gs, n_gs, 3), -1, dtype=np.int64)
    gs_to_gs = np.full((n_gs, n_gs), np.inf)
    if len(gs_idx):
        totals = gsl[gs_idx, sat_idx][:, None] + dist[:, sat_idx].T  # (P, G_dst)
        starts = np.flatnonzero(np.r_[True, gs_idx[1:] != gs_idx[:-1]])
        sources = gs_idx[starts]
        best = np.minimum.reduceat(totals, starts, axis=0)  # (S, G_dst)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(gs_idx)]))
        is_best = (totals == best[seg]) & np.isfinite(totals)
        candidate = np.where(is_best, sat_idx[:, None], np.iinfo(np.int64).max)
        chosen = np.minimum.reduceat(candidate, starts, axis=0)  # lowest satellite id among the minima
        ok = np.isfinite(best)
        first_sat = np.where(ok, chosen, -1)
        gs_decision[sources, :, 0] = first_sat
        gs_decision[sources, :, 1] = np.where(ok, 0, -1)
        gs_decision[sources, :, 2] = np.where(ok, topo.num_isls[np.where(ok, chosen, 0)], -1)
        gs_to_gs[sources] = best
        near = np.add.reduceat((totals <= best[seg] + TIE_TOLERANCE_M).astype(np.int64), starts, axis=0)
        tie_s, tie_t = np.nonzero((near >= 2) & ok)
        gs_ties = np.stack([sources[tie_s], tie_t], axis=1)
        gs_ties = gs_ties[gs_ties[:, 0] != gs_ties[:, 1]]
    else:
        gs_ties = np.empty((0, 2), dtype=np.int64)
    np.fill_diagonal(gs_to_gs, 0.0)
    _break_ties_as_satgenpy(sat_decision, gs_decision, gs_ties, via, gsl, dist, isl_m, isls, topo, n_sat)
    off_diag = ~np.eye(n_gs, dtype=bool)
    decision = np.concatenate([sat_decision, gs_decision[off_diag]])
    current, destination = _entry_ids(n_sat, n_gs)
    return ForwardingState(
        time_ns=int(time_ns),
        current=current,
        destination=destination,
        decision=decision,
        sat_to_gs_m=dist,
        gs_to_gs_m=gs_to_gs,
        gsl_m=gsl,
        isl_m=isl_m,
    )


#: Options whose distances differ by less than this [m] are treated as possible ties and decided with
#: satgenpy's own Floyd-Warshall floating-point values (far above the ~1e-7 m rounding noise of the sums).
TIE_TOLERANCE_M = 0.01


class _FloydWarshallValues:
    """satgenpy's Floyd--Warshall distance between two satellites, to the last bit, on demand.

    Floyd--Warshall adds a path's ISL lengths in an order set by the vertex numbering, so two paths of
    equal length in exact arithmetic can differ in the last bits -- and satgenpy's ``sorted`` and strict
    ``<`` then pick by those bits.  Only paths within :data:`TIE_TOLERANCE_M` of the shortest can produce the
    minimum, so running Floyd--Warshall (same vertex order, same additions) on the vertices of those paths
    gives the full run's value exactly.
    """

    def __init__(self, isl_m: np.ndarray, isls: np.ndarray, n_sat: int) -> None:
        from scipy.sparse import csr_matrix

        self.graph = csr_matrix((isl_m, (isls[:, 0], isls[:, 1])), shape=(n_sat, n_sat))
        self.weight = {}
        for (a, b), w in zip(isls.tolist(), isl_m.tolist(), strict=True):
            self.weight[(a, b)] = self.weight[(b, a)] = w
        self.rows: dict[int, np.ndarray] = {}
        self.values: dict[tuple[int, int], float] = {}

    def distances(self, source: int) -> np.ndarray:
        """ISL-only shortest distances from ``source`` (Dijkstra; exact up to rounding)."""
        if source not in self.rows:
            from scipy.sparse.csgraph import dijkstra

            self.rows[source] = dijkstra(self.graph, directed=False, indices=source)
        return self.rows[source]

    def value(self, x: int, y: int) -> float:
        if x == y:
            return 0.0
        key = (min(x, y), max(x, y))
        if key not in self.values:
            dx, dy = self.distances(key[0]), self.distances(key[1])
            nodes = np.flatnonzero(dx + dy <= dx[key[1]] + TIE_TOLERANCE_M)  # ascending: satgenpy's order
            index = {int(v): i for i, v in enumerate(nodes.tolist())}
            a = np.full((len(nodes), len(nodes)), np.inf)
            np.fill_diagonal(a, 0.0)
            for v in nodes.tolist():
                for u in self.graph.indices[self.graph.indptr[v] : self.graph.indptr[v + 1]].tolist():
                    if u in index:
                        a[index[v], index[u]] = a[index[u], index[v]] = self.weight[(v, u)]
            for k in range(len(nodes)):  # networkx.floyd_warshall_numpy, as satgenpy calls it
                a = np.minimum(a, a[k, :][np.newaxis, :] + a[:, k][:, np.newaxis])
            self.values[key] = float(a[index[key[0]], index[key[1]]])
        return self.values[key]


def _break_ties_as_satgenpy(sat_decision, gs_decision, gs_ties, via, gsl, dist, isl_m, isls, topo, n_sat) -> None:
    """Re-decide, in place, the entries where two options are within :data:`TIE_TOLERANCE_M`, with satgenpy's
    rules on its Floyd--Warshall values: the exit satellite is the first of ``sorted((distance + GSL, id))``,
    the next hop the first neighbour (interface order) with the strictly smallest ISL + distance to the exit,
    and a ground station's first satellite the first of ``sorted((GSL + distance, id))``.  ``gs_ties`` lists
    the (source, destination) ground-station pairs with near-tied first satellites."""
    n_gs = gsl.shape[0]
    near = dist[..., None] + TIE_TOLERANCE_M  # dist: (G, N) minimum over the direct and the via options
    count = (via <= near).sum(axis=2) + (gsl <= dist + TIE_TOLERANCE_M)
    sat_ties = np.argwhere((count >= 2) & np.isfinite(dist))  # (g, cur) pairs
    if not len(sat_ties) and not len(gs_ties):
        return
    fw = _FloydWarshallValues(isl_m, isls, n_sat)
    in_range = [np.flatnonzero(np.isfinite(gsl[g])) for g in range(n_gs)]
    exits: dict[tuple[int, int], tuple[float, int]] = {}

    def exit_of(cur: int, g: int) -> tuple[float, int]:
        """satgenpy's (distance to ground station ``g``, exit satellite) from satellite ``cur``."""
        if (cur, g) not in exits:
            sats = in_range[g]
            d = fw.distances(cur)[sats] + gsl[g, sats]
            low = d.min()
            exits[(cur, g)] = min(
                (fw.value(cur, int(b)) + float(gsl[g, b]), int(b)) for b in sats[d <= low + TIE_TOLERANCE_M]
            )
        return exits[(cur, g)]

    for g, cur in sat_ties.tolist():
        _, exit_sat = exit_of(cur, g)
        if exit_sat == cur:
            sat_decision[cur * n_gs + g] = (n_sat + g, topo.num_isls[cur], 0)
            continue
        to_exit = fw.distances(exit_sat)
        chosen, best_value = -1, 1e15
        for k in range(int(topo.num_isls[cur])):
            n = int(topo.neighbour[cur, k])
            w = float(isl_m[topo.edge_of[cur, k]])
            if w + to_exit[n] > to_exit[cur] + TIE_TOLERANCE_M:
                continue  # clearly longer: cannot be satgenpy's choice
            value = w + fw.value(n, exit_sat)
            if value < best_value:
                chosen, best_value = k, value
        n = int(topo.neighbour[cur, chosen])
        sat_decision[cur * n_gs + g] = (n, chosen, topo.reverse_if[cur, chosen])
    for g, t in gs_ties.tolist():
        sats = in_range[g]
        d = gsl[g, sats] + dist[t, sats]
        low = d[np.isfinite(d)].min()
        options = [(float(gsl[g, a]) + exit_of(int(a), t)[0], int(a)) for a in sats[d <= low + TIE_TOLERANCE_M]]
        first = min(options)[1]
        gs_decision[g, t] = (first, 0, topo.num_isls[first])


# ---------------------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------------------

_POWERS = 10 ** np.arange(1, 19, dtype=np.int64)


def format_int_rows(table: np.ndarray) -> bytes:
    """Integer table ``(rows, cols)`` -> ``b"a,b,c\\n..."`` exactly as ``"%d,%d,%d\\n" % row`` would, vectorised.

    Digits are laid out right-aligned in a fixed-width byte grid, then the
    padding (zero bytes) is dropped in one pass.
    """
    table = np.asarray(table, dtype=np.int64)
    if table.ndim != 2 or table.shape[0] == 0:
        return b""
    n_rows, n_cols = table.shape
    negative = table < 0
    magnitude = np.abs(table)
    digits = 1 + np.searchsorted(_POWERS, magnitude, side="right")
    widths = (digits + negative).max(axis=0)
    grid = np.zeros((n_rows, int(widths.sum()) + n_cols), dtype=np.uint8)
    position = 0
    for c in range(n_cols):
        w = int(widths[c])
        for j in range(w):  # j-th character from the right of this field
            column = position + w - 1 - j
            if j < 19:
                has_digit = digits[:, c] > j
                digit = (magnitude[:, c] // (10**j)) % 10
                grid[:, column] = np.where(has_digit, 48 + digit, 0).astype(np.uint8)
            sign_here = negative[:, c] & (digits[:, c] == j)
            grid[sign_here, column] = ord("-")
        position += w
        grid[:, position] = ord(",") if c < n_cols - 1 else ord("\n")
        position += 1
    flat = grid.ravel()
    return flat[flat != 0].tobytes()


def _write(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as handle:
        handle.write(payload)
    os.replace(tmp, path)


def _bandwidth_lines(inputs: HypatiaInputs, num_isls: np.ndarray) -> bytes:
    n_sat = inputs.n_satellites
    ids = np.arange(n_sat + inputs.n_ground_stations)
    isl_column = np.concatenate([num_isls, np.zeros(inputs.n_ground_stations, dtype=np.int64)])
    return "".join(
        f"{i},{k},{bw:f}\n"
        for i, k, bw in zip(ids.tolist(), isl_column.tolist(), inputs.gsl_bandwidth.tolist(), strict=True)
    ).encode()


def generate_dynamic_state(
    inputs: HypatiaInputs,
    out_dir: str | os.PathLike[str],
    *,
    duration_ns: int,
    step_ns: int,
    frame: Frame = "hypatia",
) -> list[dict]:
    """Write satgenpy's dynamic state for ``algorithm_free_one_only_over_isls`` into ``out_dir``.

    Time steps are ``0, step, ...`` strictly below ``duration`` (satgenpy's
    rule: 3 s at 1 s gives t = 0, 1, 2 s).  Returns one summary dict per step
    (``time_ns``, ``fstate_entries`` written, ``gsl_pairs_in_range``,
    ``unreachable_gs_pairs``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    offsets = hypatia_time_offsets_ns(duration_ns, step_ns)
    positions = hypatia_positions_m(inputs.satrecs, inputs.epoch_jd, offsets, frame=frame)
    if np.isnan(positions).any():
        bad = int(np.flatnonzero(np.isnan(positions).any(axis=(1, 2)))[0])
        raise InputError(
            f"SGP4 fails for satellite {bad} within the run",
            source=str(inputs.directory / "tles.txt"),
            hint="shorten the duration or fix that TLE",
        )
    topo = _topology(inputs.isls, inputs.n_satellites)
    summaries: list[dict] = []
    previous: np.ndarray | None = None
    for step, t_ns in enumerate(offsets.tolist()):
        state = compute_forwarding_state(
            positions[:, step],
            inputs.ground_xyz_m,
            inputs.isls,
            inputs.max_gsl_length_m,
            max_isl_length_m=inputs.max_isl_length_m,
            time_ns=t_ns,
            _topology_cache=topo,
        )
        if previous is None:
            changed = np.ones(len(state.decision), dtype=bool)
        else:
            changed = (state.decision != previous).any(axis=1)
        table = np.column_stack([state.current[changed], state.destination[changed], state.decision[changed]])
        _write(out / f"fstate_{t_ns}.txt", format_int_rows(table))
        _write(out / f"gsl_if_bandwidth_{t_ns}.txt", _bandwidth_lines(inputs, topo.num_isls) if t_ns == 0 else b"")
        previous = state.decision
        off_diag = ~np.eye(inputs.n_ground_stations, dtype=bool)
        summaries.append(
            {
                "time_ns": t_ns,
                "fstate_entries": int(changed.sum()),
                "gsl_pairs_in_range": state.gsl_pairs_in_range,
                "unreachable_gs_pairs": int((~np.isfinite(state.gs_to_gs_m[off_diag])).sum()),
            }
        )
    return summaries
