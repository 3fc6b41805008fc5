"""Who is in view, computed once: the satellites above the mask per ``(time, cell)``, for masking per draw.

Attrition changes *which* satellites exist, never where they are.  So the expensive part of coverage -- SGP4 and
the visibility kernel -- runs once for the unattacked constellation, keeping for every ``(time, cell)`` the list
of satellites in view (the kernel's top-k lists with ``k`` large enough to hold all of them).  A draw of an attack
is then a vector ``removed_at_step`` (per satellite: the first time step at which it is gone; ``n_times`` when it
survives) and the attacked count is

    count[t, c] = #{ s in view[t, c] : removed_at_step[s] > t }

-- a compiled gather over the stored lists, thousands of times cheaper than re-running coverage (see
``benchmarks/threats_montecarlo.py``).  Counts equal those of
:func:`~skyfence.coverage.engine.run_coverage` on the surviving satellites exactly (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from skyfence.errors import InputError

__all__ = ["ViewSets", "compute_viewsets"]

#: Largest k the visibility kernel keeps per call (all pairs, unsorted); more in view: split over satellite groups.
_KERNEL_MAX_K = 128


@numba.njit(parallel=True, nogil=True, cache=True)
def _masked_counts(sats, removed_at, out):  # pragma: no cover - compiled
    n_time, n_cell, k = sats.shape
    for t in numba.prange(n_time):
        for c in range(n_cell):
            n = 0
            for j in range(k):
                s = sats[t, c, j]
                if s < 0:
                    break
                if removed_at[s] > t:
                    n += 1
            out[t, c] = n


@dataclass(frozen=True, eq=False)
class ViewSets:
    """Satellites in view per ``(time, cell)`` for one constellation, cell set, time grid and mask.

    Attributes
    ----------
    sats
        ``(time, cell, k)`` int32 satellite indices (rows of the constellation), ``-1`` padded at the end.
    count
        ``(time, cell)`` uint16 satellites in view without attack.
    cells, lat_deg, lon_deg, area_km2
        The cells [H3 uint64], their centres [deg] and areas [km^2].
    times
        UTC ``datetime64[ns]``.
    n_satellites
        Satellites in the constellation.
    min_elevation_deg
        The elevation mask [deg].
    """

    sats: np.ndarray
    count: np.ndarray
    cells: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    area_km2: np.ndarray
    times: np.ndarray
    n_satellites: int
    min_elevation_deg: float

    @property
    def step_s(self) -> float:
        return float((self.times[1] - self.times[0]) / np.timedelta64(1, "s")) if len(self.times) > 1 else 0.0

    def never(self) -> np.ndarray:
        """``removed_at_step`` for no attack (every satellite survives the whole span)."""
        return np.full(self.n_satellites, len(self.times), dtype=np.int64)

    def removal_steps(self, removed: np.ndarray | None = None, removal_time: np.ndarray | None = None) -> np.ndarray:
        """``removed_at_step`` from a boolean ``removed`` mask (gone from the start) and/or removal times
        (UTC ``datetime64``, NaT = never; a satellite is gone from the first step at or after its time)."""
        steps = self.never()
        if removal_time is not None:
            when = np.asarray(removal_time, dtype="datetime64[ns]")
            hit = ~np.isnat(when)
            steps[hit] = np.searchsorted(self.times, when[hit], side="left")
        if removed is not None:
            steps[np.asarray(removed, dtype=bool)] = 0
        return steps

    def counts(self, removed_at_step: np.ndarray | None = None) -> np.ndarray:
        """Satellites in view per ``(time, cell)`` [uint16] after the attack described by ``removed_at_step``."""
        if removed_at_step is None:
            return self.count
        removed_at = np.ascontiguousarray(removed_at_step, dtype=np.int64)
        if removed_at.shape != (self.n_satellites,):
            raise ValueError(f"removed_at_step must have shape ({self.n_satellites},), got {removed_at.shape}")
        out = np.empty(self.count.shape, dtype=np.uint16)
        _masked_counts(self.sats, removed_at, out)
        return out

    def engaged(self, time_mask: np.ndarray | None = None, cell_mask: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of satellites in view of at least one of the cells at least once in the time steps."""
        sats = self.sats
        if time_mask is not None:
            sats = sats[np.asarray(time_mask, dtype=bool)]
        if cell_mask is not None:
            sats = sats[:, np.asarray(cell_mask, dtype=bool)]
        seen = np.zeros(self.n_satellites, dtype=bool)
        ids = np.unique(sats)
        seen[ids[ids >= 0]] = True
        return seen


def _all_in_view(constellation, grid, times, mask_deg: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    from skyfence.coverage.visibility import iter_visibility

    count = np.zeros((len(times), len(grid)), dtype=np.uint16)
    sats = np.full((len(times), len(grid), k), -1, dtype=np.int32)
    for chunk in iter_visibility(constellation, grid, times, min_elevation_deg=mask_deg, k=k, all_pairs=True):
        count[chunk.time_slice] = chunk.count
        assert chunk.best_sat is not None  # k > 0 was asked for
        # all-pairs slots past the count are left unfilled by the kernel: pad them with -1 here
        filled = np.arange(k)[None, None, :] < chunk.count[:, :, None].astype(np.int64)
        sats[chunk.time_slice] = np.where(filled, chunk.best_sat, -1)
    return count, sats


def compute_viewsets(
    constellation, cells: np.ndarray, times: np.ndarray, *, min_elevation_deg: float = 25.0
) -> ViewSets:
    """Run the visibility kernel once and keep every satellite in view per ``(time, cell)``.

    The kernel keeps up to 128 satellites per ``(time, cell)`` (all pairs, unsorted); when more are in view
    somewhere, the constellation is split into interleaved groups that each see fewer, and the lists are
    concatenated.
    """
    from skyfence.coverage.visibility import GroundGrid, validate_mask
    from skyfence.earth import cells as h3cells

    mask = validate_mask(min_elevation_deg)
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    if cells.size == 0:
        raise InputError("no cells to evaluate", field="region", hint="use a finer resolution or a larger region")
    times = np.asarray(times, dtype="datetime64[ns]")
    lat, lon = h3cells.cell_centers(cells)
    grid = GroundGrid.from_latlon(lat, lon)
    n_sat = len(constellation)
    count, sats = _all_in_view(constellation, grid, times, mask, _KERNEL_MAX_K)
    peak = int(count.max(initial=0))
    if peak > _KERNEL_MAX_K:  # split the satellites so that each group has room in its lists
        groups = math.ceil(peak / (_KERNEL_MAX_K * 0.75))
        parts = []
        for g in range(groups):
            index = np.arange(g, n_sat, groups)
            sub_count, sub_sats = _all_in_view(constellation.subset(index), grid, times, mask, _KERNEL_MAX_K)
            if int(sub_count.max(initial=0)) > _KERNEL_MAX_K:
                raise InputError(
                    f"more than {groups * _KERNEL_MAX_K} satellites in view",
                    field="min_elevation",
                    hint="raise the elevation mask",
                )
            parts.append(np.where(sub_sats >= 0, index[np.maximum(sub_sats, 0)], -1).astype(np.int32))
        sats = np.concatenate(parts, axis=2)
        sats = -np.sort(-sats, axis=2)  # valid indices first, -1 padding last
    width = max(peak, 1)
    sats = np.ascontiguousarray(sats[:, :, :width])
    return ViewSets(sats, count, cells, lat, lon, h3cells.cell_area_km2(cells), times, n_sat, mask)
