"""CZML for Cesium: satellites along their sampled orbits, gateways and PoPs, GSL and ISL links over time.

The file is written with `czml3 <https://github.com/Stoops-ML/czml3>`_ (pydantic 2 models of the CZML packet
schema, validated as they are built) and opens in CesiumJS with ``Cesium.CzmlDataSource.load``.

What is in it
-------------
* ``document`` (first packet): name, a description of the run (source, elements, step, skyfence version) and the
  clock: its interval is the exported span, the current time its start.
* ``satellite/<NORAD id>``: one packet per satellite with at least one valid SGP4 position.  Positions are the
  ITRF positions of :func:`skyfence.orbits.propagate.iter_positions` (equal to skyfield's ``itrs`` frame to
  floating point), in metres, rounded to 0.1 m, with ``referenceFrame: FIXED`` -- Cesium's Earth-fixed frame --
  and time-tagged as seconds since ``epoch`` (the first sample).  Cesium interpolates between samples with
  Lagrange polynomials of degree 5 (the degree its own satellite examples use; at a 60 s step the interpolation
  error in the Earth-fixed frame is centimetres).  ``availability`` runs from the first to the last valid sample;
  samples where SGP4 failed (a decayed satellite) are left out.
* ``gateway/<name>`` and ``pop/<name>``: one packet per site of the ground segment
  (:func:`skyfence.network.ground.load_ground_segment`), at its WGS-84 position.
* ``gsl/<NORAD id>`` (with ``gsl=True``): one packet per satellite that is ever linked to a gateway.  At every
  sample, an in-service satellite (:func:`skyfence.network.routing.in_service`) is linked to the nearest gateway
  (shortest slant range) that sees it above the elevation mask (:class:`skyfence.network.links.GroundPoints`,
  25 deg by default, Starlink's filings) -- the gateway the minimum-delay routes of
  :mod:`skyfence.network.routing` take for a bent pipe.  The link holds from its sample to the next one.  The
  polyline's ``positions`` reference ``satellite/...#position`` and ``gateway/...#position`` per interval, so
  Cesium draws it between the moving satellite and its current gateway, and ``availability`` lists the intervals
  with a gateway.
* ``isl/<NORAD id>-<NORAD id>`` (with ``isl=True``): one packet per laser link of the ``+grid`` topology
  (:func:`skyfence.network.links.isl_pairs`) between in-service, laser-capable satellites
  (:func:`skyfence.network.lasers.laser_capable`), fixed over the span as in the routing model; ``positions``
  reference both satellites; ``availability`` is the span where both have positions.

Identifiers are escaped for Cesium's reference syntax (``\\`` and ``#`` in an id are written ``\\\\`` and
``\\#`` inside a reference).

References
----------
CZML guide and packet schema, https://github.com/AnalyticalGraphicsInc/czml-writer/wiki (Packet, Position,
ReferenceValue, Polyline, Clock).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from skyfence.errors import InputError
from skyfence.orbits.time import iso_utc

__all__ = [
    "MAX_SAMPLES",
    "CzmlExport",
    "build_czml",
    "check_scenario_czml",
    "export_czml",
    "write_czml",
    "write_scenario_czml",
]

#: Satellite x time samples allowed in one file by default (about 40 bytes each: ~80 MB of CZML).
MAX_SAMPLES = 2_000_000
#: Lagrange interpolation degree Cesium uses between samples.
INTERPOLATION_DEGREE = 5

_SATELLITE_RGBA = [255, 255, 255, 255]
_GATEWAY_RGBA = [255, 165, 0, 255]
_POP_RGBA = [0, 200, 255, 255]
_GSL_RGBA = [120, 255, 120, 180]
_ISL_RGBA = [255, 80, 80, 140]


@dataclass(frozen=True)
class CzmlExport:
    """A built CZML document and what it holds (``text`` is the JSON of the file)."""

    text: str
    satellites: int
    sites: int
    gsl_links: int
    isl_links: int
    samples_per_satellite: int
    start: str
    end: str
    left_out: int
    #: Why the file has no gateways or PoPs when none were asked for and the operator has none in the data.
    note: str = ""

    @property
    def packets(self) -> int:
        """Packets in the file, the document packet included."""
        return 1 + self.satellites + self.sites + self.gsl_links + self.isl_links

    def summary(self) -> dict[str, Any]:
        return {
            "satellites": self.satellites,
            "sites": self.sites,
            "gsl_links": self.gsl_links,
            "isl_links": self.isl_links,
            "samples_per_satellite": self.samples_per_satellite,
            "start": self.start,
            "end": self.end,
            "satellites_left_out": self.left_out,
            "packets": self.packets,
            "note": self.note,
        }


def _ref(packet_id: str, prop: str = "position") -> str:
    """A CZML reference ``id#property`` with ``\\`` and ``#`` of the id escaped (Cesium's ReferenceProperty)."""
    return packet_id.replace("\\", "\\\\").replace("#", "\\#") + "#" + prop


def _unique(ids: list[str]) -> list[str]:
    """``ids`` with repeats numbered (``name``, ``name~2`` ...): packet ids must be unique in a file."""
    seen: dict[str, int] = {}
    out = []
    for packet_id in ids:
        n = seen.get(packet_id, 0) + 1
        seen[packet_id] = n
        out.append(packet_id if n == 1 else f"{packet_id}~{n}")
    return out


def check_samples(n_satellites: int, n_times: int, max_samples: int = MAX_SAMPLES) -> None:
    """Refuse a file with more than ``max_samples`` satellite x time samples, before propagating."""
    if n_satellites * n_times > max_samples:
        raise InputError(
            f"{n_satellites:,} satellites x {n_times:,} times = {n_satellites * n_times:,} position samples, "
            f"more than the {max_samples:,} a CZML file may hold here",
            field="--step",
            hint="use a longer --step, a shorter --duration or raise --max-samples",
        )


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """``(first, last, value)`` of each run of equal values in a 1-D integer array."""
    if not len(values):
        return []
    cut = np.flatnonzero(np.diff(values) != 0) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut - 1, len(values) - 1]
    return [(int(a), int(b), int(values[a])) for a, b in zip(starts, ends, strict=True)]


def _merged(pieces: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Touching ``(first, last, gateway)`` sample ranges joined into ``(first, last)`` ranges (an availability)."""
    out: list[tuple[int, int]] = []
    for a, b, _ in pieces:
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def build_czml(
    constellation,
    times: np.ndarray,
    *,
    ground=None,
    gsl: bool = False,
    isl: bool = False,
    lasers: str = "generation",
    min_elevation_deg: float = 25.0,
    name: str | None = None,
    source: str | None = None,
    max_samples: int = MAX_SAMPLES,
    progress: Callable[[int], None] | None = None,
) -> CzmlExport:
    """The CZML document of ``constellation`` over ``times`` (see the module docstring).

    ``ground`` is a :class:`~skyfence.network.ground.GroundSegment` (its gateways and PoPs become site packets;
    ``None`` writes no sites); ``gsl`` needs it.  ``lasers`` is the laser availability of
    :func:`skyfence.network.lasers.laser_capable` (``generation``, ``all``, ``none``).  ``progress`` is called with
    the number of time steps propagated after each chunk.  ``name`` and ``source`` label the document (default:
    the constellation's name; give a dataset name or a file name, never a machine path: the file is shared).
    """
    from czml3 import Document, Packet
    from czml3.enums import ArcTypes, ClockRanges, ClockSteps, InterpolationAlgorithms, ReferenceFrames
    from czml3.properties import Clock, Color, Point, Polyline, PolylineMaterial, Position, PositionList
    from czml3.properties import SolidColorMaterial as Solid
    from czml3.types import IntervalValue, ReferenceListValue, TimeInterval, TimeIntervalCollection

    from skyfence._version import __version__
    from skyfence.network.lasers import laser_capable
    from skyfence.network.links import GroundPoints, isl_pairs
    from skyfence.network.routing import in_service
    from skyfence.orbits.propagate import iter_positions

    times = np.atleast_1d(np.asarray(times, dtype="datetime64[ns]"))
    if times.ndim != 1 or not len(times) or np.isnat(times).any() or np.any(np.diff(times.astype(np.int64)) <= 0):
        raise InputError("need a 1-D array of increasing times", field="times")
    if gsl and ground is None:
        raise InputError("GSL links need a ground segment", field="--ground", hint="give the gateways (sites)")
    n_sat, n_time = len(constellation), len(times)
    if n_sat == 0:
        raise InputError("the constellation is empty", field="SOURCE")
    check_samples(n_sat, n_time, max_samples)
    start, end = iso_utc(times[0], "ms"), iso_utc(times[-1], "ms")
    seconds = (times - times[0]).astype(np.int64) / 1e9
    table = constellation.satellites
    norad = table["norad_id"].to_numpy(np.int64)
    sat_ids = _unique([f"satellite/{n}" for n in norad.tolist()])

    gateways = ground.gateways if ground is not None else None
    points = None
    if gsl and gateways is not None and len(gateways):
        points = GroundPoints(
            gateways["lat_deg"].to_numpy(float),
            gateways["lon_deg"].to_numpy(float),
            gateways["alt_km"].to_numpy(float),
            min_elevation_deg,
        )
    service = in_service(constellation)
    position_m = np.empty((n_sat, n_time, 3), dtype=np.float64)
    valid = np.zeros((n_sat, n_time), dtype=bool)
    linked = np.full((n_sat, n_time), -1, dtype=np.int64)  # gateway index per satellite and sample
    for chunk in iter_positions(constellation, times):
        xyz = chunk.position_itrf_km
        position_m[:, chunk.time_slice] = np.round(xyz * 1000.0, 1)
        valid[:, chunk.time_slice] = chunk.error == 0
        if points is not None:
            for k in range(len(chunk.times)):
                sat_xyz = np.where(service[:, None], xyz[:, k], np.nan)
                gi, si, rng = points.links(sat_xyz)
                order = np.lexsort((rng, si))  # per satellite, nearest gateway first
                si, gi = si[order], gi[order]
                first = np.r_[True, si[1:] != si[:-1]]
                linked[si[first], chunk.time_slice.start + k] = gi[first]
        if progress is not None:
            progress(len(chunk.times))

    clock = Clock(
        interval=TimeInterval(start=start, end=end),
        currentTime=start,
        multiplier=60.0,
        range=ClockRanges.LOOP_STOP,
        step=ClockSteps.SYSTEM_CLOCK_MULTIPLIER,
    )
    label = name or constellation.name or "skyfence"
    step_s = float(seconds[1] - seconds[0]) if n_time > 1 else 0.0
    packets = [
        Packet(
            id="document",
            name=label,
            version="1.0",
            description=(
                f"{label}: {n_sat:,} satellites from {source or constellation.name}, "
                f"{start} to {end}, one sample every {step_s:g} s; written by skyfence {__version__}"
            ),
            clock=clock,
        )
    ]

    iso = [iso_utc(t, "ms") for t in times]

    @functools.cache
    def interval(a: int, b: int) -> TimeInterval:
        return TimeInterval(start=iso[a], end=iso[b])

    span = np.full((n_sat, 2), -1, dtype=np.int64)
    left_out = 0
    shells = table["shell"].to_numpy(np.int64)
    names = table["name"].astype(str).tolist()
    designators = table["intl_designator"].astype(str).tolist()
    for i in range(n_sat):
        ok = np.flatnonzero(valid[i])
        if not len(ok):
            left_out += 1
            continue
        span[i] = ok[0], ok[-1]
        samples = np.column_stack([seconds[ok], position_m[i, ok]]).ravel().tolist()
        degree = min(INTERPOLATION_DEGREE, len(ok) - 1)
        packets.append(
            Packet(
                id=sat_ids[i],
                name=names[i],
                description=(
                    f"NORAD {norad[i]}, {designators[i] or 'no designator'}, shell {shells[i]}"
                    + ("" if service[i] else " (not in service)")
                ),
                availability=interval(ok[0], ok[-1]),
                position=Position(
                    epoch=start,
                    referenceFrame=ReferenceFrames.FIXED,
                    interpolationAlgorithm=InterpolationAlgorithms.LAGRANGE if degree > 1 else None,
                    interpolationDegree=degree if degree > 1 else None,
                    cartesian=samples,
                ),
                point=Point(pixelSize=4, color=Color(rgba=_SATELLITE_RGBA)),
            )
        )
    n_satellites = n_sat - left_out

    n_sites = 0
    site_ids: dict[str, list[str]] = {}
    if ground is not None:
        for kind, frame, rgba in (("gateway", ground.gateways, _GATEWAY_RGBA), ("pop", ground.pops, _POP_RGBA)):
            ids = _unique([f"{kind}/{n}" for n in frame["name"].astype(str).tolist()])
            site_ids[kind] = ids
            for row, packet_id in zip(frame.itertuples(index=False), ids, strict=True):
                home = f", home PoP {row.home_pop}" if kind == "gateway" and row.home_pop else ""
                packets.append(
                    Packet(
                        id=packet_id,
                        name=str(row.name),
                        description=f"{kind}, {row.status}, {row.country or 'at sea'}{home}",
                        position=Position(
                            cartographicDegrees=[float(row.lon_deg), float(row.lat_deg), float(row.alt_km) * 1000.0]
                        ),
                        point=Point(
                            pixelSize=7 if kind == "gateway" else 9,
                            color=Color(rgba=rgba),
                            outlineColor=Color(rgba=[0, 0, 0, 255]),
                            outlineWidth=1,
                        ),
                    )
                )
            n_sites += len(ids)

    def line(rgba: list[int], width: float) -> dict[str, Any]:
        material = PolylineMaterial(solidColor=Solid(color=Color(rgba=rgba)))
        return {"width": width, "arcType": ArcTypes.NONE, "material": material}

    gsl_style, isl_style = line(_GSL_RGBA, 1.5), line(_ISL_RGBA, 1.0)
    PositionList(references=[_ref("a/b"), _ref("c#d")])  # the shape below, validated once

    def references(first: str, second: str) -> PositionList:
        # Tens of thousands of these per file: built without re-validation (the ids are escaped by _ref, the
        # shape is the one validated above); 1.2x less CPU for a whole catalog (benchmarks/czml_export.py).
        return PositionList.model_construct(
            references=ReferenceListValue.model_construct(values=[_ref(first), _ref(second)])
        )

    n_gsl = 0
    if points is not None:
        gw_ids = site_ids["gateway"]
        for i in range(n_sat):
            runs = [(a, b, g) for a, b, g in _runs(linked[i]) if g >= 0]
            pieces = []
            for a, b, g in runs:
                b_end = min(b + 1, n_time - 1)  # the link holds until the next sample
                if b_end == a and n_time > 1:
                    continue
                pieces.append((a, b_end, g))
            if not pieces:
                continue
            n_gsl += 1
            packets.append(
                Packet(
                    id=f"gsl/{sat_ids[i].split('/', 1)[1]}",
                    name=f"{names[i]} to its gateway",
                    availability=TimeIntervalCollection(values=[interval(a, b) for a, b in _merged(pieces)]),
                    polyline=Polyline(
                        positions=TimeIntervalCollection(
                            values=[
                                IntervalValue.model_construct(
                                    start=iso[a], end=iso[b], value=references(sat_ids[i], gw_ids[g])
                                )
                                for a, b, g in pieces
                            ]
                        ),
                        **gsl_style,
                    ),
                )
            )

    n_isl = 0
    if isl:
        capable = laser_capable(constellation, lasers) & service
        for a, b in isl_pairs(constellation, "+grid", t_ref=times[0], in_service=capable).tolist():
            lo, hi = max(span[a, 0], span[b, 0]), min(span[a, 1], span[b, 1])
            if span[a, 0] < 0 or span[b, 0] < 0 or lo > hi:
                continue
            n_isl += 1
            packets.append(
                Packet(
                    id=f"isl/{norad[a]}-{norad[b]}",
                    name=f"laser {names[a]} - {names[b]}",
                    availability=interval(lo, hi),
                    polyline=Polyline(
                        positions=references(sat_ids[a], sat_ids[b]),
                        **isl_style,
                    ),
                )
            )
    text = Document(packets=packets).model_dump_json(exclude_none=True)
    return CzmlExport(
        text=text,
        satellites=n_satellites,
        sites=n_sites,
        gsl_links=n_gsl,
        isl_links=n_isl,
        samples_per_satellite=n_time,
        start=start,
        end=end,
        left_out=left_out,
    )


def write_czml(path: str | os.PathLike[str], export: CzmlExport) -> Path:
    """Write ``export`` to ``path`` atomically (a reader never sees half a file)."""
    from skyfence._io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(export.text, encoding="utf-8")
    return path


def export_czml(
    source: str,
    out: str | os.PathLike[str] | None = None,
    *,
    start: str | None = None,
    duration: str = "1h",
    step: str = "60s",
    sites: str | None = "operator",
    status: str = "operational",
    gsl: bool = False,
    isl: bool = False,
    lasers: str = "generation",
    min_elevation_deg: float = 25.0,
    max_samples: int = MAX_SAMPLES,
    progress: Callable[[int], None] | None = None,
    check_times: Callable[[Any, np.ndarray], Any] | None = None,
) -> CzmlExport:
    """Load ``source`` (a TLE/OMM file, preset, dated catalog or ``celestrak:GROUP``) and the ground segment
    ``sites`` (dataset name or file; ``None``: no sites; ``"operator"``: the operator's, see
    :func:`skyfence.network.ground.operator_ground` -- none, with a note, for an operator without one in the data,
    an error when ``gsl`` needs it), build the CZML over ``start`` + ``duration`` at ``step`` and, when ``out`` is
    given, write it there.  Start defaults to the newest element epoch.  ``check_times(constellation, times)`` runs
    before anything is propagated (the CLI's epoch-gap guard)."""
    from skyfence.network.ground import OPERATOR, STATUSES, load_ground_segment, operator_ground, operator_of
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import default_start, time_grid

    if max_samples < 1:
        raise InputError(f"max samples must be >= 1, got {max_samples}", field="--max-samples")
    if status not in (*STATUSES, "all"):
        raise InputError(f"site status {status!r} is not one of {(*STATUSES, 'all')}", field="--status")
    constellation = load_constellation(source)
    t0 = default_start(constellation.epoch_range) if start is None else start
    times = time_grid(t0, duration, step)
    check_samples(len(constellation), len(times), max_samples)
    if check_times is not None:
        check_times(constellation, times)
    note = ""
    if sites == OPERATOR:
        sites = operator_ground(constellation, field="--ground", required=gsl)
        if sites is None:
            note = f"no gateways or PoPs drawn: the data has no ground segment for {operator_of(constellation)[1]}"
    ground = None
    if sites is not None:
        ground = load_ground_segment(sites, status=None if status == "all" else (status,))
    export = build_czml(
        constellation,
        times,
        ground=ground,
        gsl=gsl,
        isl=isl,
        lasers=lasers,
        min_elevation_deg=min_elevation_deg,
        name=constellation.name,
        source=Path(source).name if Path(source).expanduser().exists() else source,
        max_samples=max_samples,
        progress=progress,
    )
    if note:
        export = replace(export, note=note)
    if out is not None:
        write_czml(out, export)
    return export


def _scenario_plan(scenario, base: Path):
    """The scenario's inputs, the CZML times and its constellations; too many samples raise (before any work)."""
    from skyfence.orbits.time import parse_duration, time_grid
    from skyfence.scenario.units import Context

    spec = scenario.outputs
    ctx = Context(scenario, base)
    t0, t1 = ctx.times[0], ctx.times[-1]
    span = min(parse_duration(spec.czml_duration, field="outputs.czml_duration"), t1 - t0)
    times = time_grid(t0, span, spec.czml_step)
    constellations = [(c, ctx.constellation(c)) for c in scenario.constellations]
    for _, constellation in constellations:
        try:
            check_samples(len(constellation), len(times))
        except InputError as error:
            raise InputError(
                error.message,
                field="outputs.czml_step",
                hint="use a longer outputs.czml_step or a shorter outputs.czml_duration",
            ) from None
    return ctx, times, constellations


def check_scenario_czml(scenario, base: Path) -> None:
    """Refuse, before a run, a scenario whose ``outputs.czml`` files would hold too many samples."""
    if scenario.outputs.czml:
        _scenario_plan(scenario, base)


def write_scenario_czml(folder: str | os.PathLike[str], scenario, base: Path) -> list[dict[str, Any]]:
    """With ``outputs.czml = true``, write ``czml/<constellation>.czml`` into ``folder`` for every constellation of
    a scenario (its top-level ground segment, GSL and ISL links) over the first ``outputs.czml_duration`` of its
    span every ``outputs.czml_step``; returns one entry per file for the report (``file`` relative to ``folder``).

    Too many samples is an :class:`~skyfence.errors.InputError` naming ``outputs.czml_step``.
    """
    if not scenario.outputs.czml:
        return []
    ctx, times, constellations = _scenario_plan(scenario, base)
    ground = ctx.ground(scenario.ground)
    entries = []
    for c_spec, constellation in constellations:
        label = c_spec.label or c_spec.name
        source = Path(c_spec.source).name if "/" in c_spec.source else c_spec.source  # no machine paths in the file
        export = build_czml(constellation, times, ground=ground, gsl=True, isl=True, name=label, source=source)
        file = f"czml/{c_spec.name}.czml"
        target = Path(folder) / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export.text, encoding="utf-8")
        entries.append({"file": file, "label": label, "bytes": len(export.text.encode()), **export.summary()})
    return entries
