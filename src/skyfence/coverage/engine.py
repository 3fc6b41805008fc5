"""Coverage runs: a constellation over a set of cells and a time span -> counts, figures of merit, statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from skyfence.coverage.merit import MeritAccumulator, region_statistics
from skyfence.coverage.visibility import GroundGrid, iter_visibility, validate_mask
from skyfence.earth import cells as h3cells
from skyfence.errors import InputError
from skyfence.orbits.constellation import Constellation

__all__ = ["CoverageResult", "run_coverage"]


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """What a coverage run produced.

    Attributes
    ----------
    cells
        H3 cells [uint64], the ``cell`` dimension.
    res
        H3 resolution of the cells.
    times
        UTC ``datetime64[ns]`` time grid.
    counts
        Dataset ``(time, cell)`` with ``sats_in_view`` [uint16], or None when not kept.
    per_cell
        Figures of merit per cell (:class:`~skyfence.coverage.merit.MeritAccumulator`),
        with ``cell`` (hex id), ``lat``, ``lon`` and ``area_km2`` columns.
    statistics
        Area-weighted figures for the whole cell set.
    settings
        Inputs: constellation, mask, minimum satellites, step.
    """

    cells: np.ndarray
    res: int
    times: np.ndarray
    counts: xr.Dataset | None
    per_cell: pd.DataFrame
    statistics: dict[str, float]
    settings: dict[str, object] = field(default_factory=dict)


def run_coverage(
    constellation: Constellation,
    cells: np.ndarray,
    times: np.ndarray,
    *,
    min_elevation_deg: float = 25.0,
    min_sats: int = 1,
    keep_counts: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CoverageResult:
    """Satellites in view per ``(time, cell)`` and figures of merit per cell and over all cells.

    Cells are evaluated at their centres on the WGS-84 ellipsoid (height 0).
    Streams over time chunks; with ``keep_counts=False`` memory stays
    independent of the span length.

    Parameters
    ----------
    constellation
        The satellites.
    cells
        H3 cells, one resolution.
    times
        UTC times (:func:`skyfence.orbits.time.time_grid`); regular steps.
    min_elevation_deg
        Elevation mask [deg].
    min_sats
        Satellites needed for a cell to count as covered.
    """
    mask = validate_mask(min_elevation_deg)
    if int(min_sats) < 1:
        raise InputError(f"min_sats must be at least 1, got {min_sats}", field="min_sats")
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    if cells.size == 0:
        raise InputError("no cells to evaluate", field="region", hint="use a finer --res or a larger region")
    resolutions = np.unique((cells >> np.uint64(52)) & np.uint64(0xF))  # H3 index bits 52-55 hold the resolution
    if len(resolutions) != 1:
        raise InputError(f"cells mix resolutions {resolutions.tolist()}", field="cells", hint="use one resolution")
    res = int(resolutions[0])
    times = np.asarray(times, dtype="datetime64[ns]")
    step_s = float((times[1] - times[0]) / np.timedelta64(1, "s")) if len(times) > 1 else 0.0
    lat, lon = h3cells.cell_centers(cells)
    grid = GroundGrid.from_latlon(lat, lon)
    merit = MeritAccumulator(n_points=len(cells), step_s=step_s, min_sats=int(min_sats))
    counts = np.empty((len(times), len(cells)), dtype=np.uint16) if keep_counts else None
    for chunk in iter_visibility(constellation, grid, times, min_elevation_deg=mask):
        merit.update(chunk.count)
        if counts is not None:
            counts[chunk.time_slice] = chunk.count
        if progress is not None:
            progress(len(chunk.times))
    area = h3cells.cell_area_km2(cells)
    per_cell = merit.result()
    per_cell.insert(0, "cell", [f"{c:x}" for c in cells.tolist()])
    per_cell.insert(1, "lat", lat)
    per_cell.insert(2, "lon", lon)
    per_cell.insert(3, "area_km2", area)
    settings = {
        "constellation": constellation.name,
        "source": constellation.source,
        "satellites": len(constellation),
        "min_elevation_deg": mask,
        "min_sats": int(min_sats),
        "res": res,
        "start": str(times[0]),
        "end": str(times[-1]),
        "step_s": step_s,
        "steps": len(times),
    }
    dataset = None
    if counts is not None:
        dataset = xr.Dataset(
            {
                "sats_in_view": (
                    ("time", "cell"),
                    counts,
                    {"long_name": f"satellites above {mask:g} deg elevation", "units": "1"},
                )
            },
            coords={
                "time": times,
                "cell": xr.Variable("cell", cells, {"grid_name": "h3", "level": res}),
                "lat": ("cell", lat, {"units": "degrees_north"}),
                "lon": ("cell", lon, {"units": "degrees_east"}),
            },
            attrs={k: str(v) for k, v in settings.items()},
        )
    return CoverageResult(cells, res, times, dataset, per_cell, region_statistics(per_cell, area), settings)
