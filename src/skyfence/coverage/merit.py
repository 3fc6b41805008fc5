"""Figures of merit over time, per ground point, accumulated chunk by chunk.

Names follow STK Coverage where it has them (AGI, *STK Coverage: Figures of
Merit*): **coverage** (fraction of time with at least ``min_sats`` in view),
**N-asset coverage** (satellites in view: mean / min / max, and the fraction
of time with at least N), **number of gaps**, **maximum / mean gap
duration**, **revisit time** (mean time between the starts of consecutive
accesses).  Time is sampled: a gap of ``n`` uncovered samples lasts
``n * step``; gaps touching the start or end of the span are counted and
truncated by it, as STK does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

__all__ = ["N_ASSET_LEVELS", "MeritAccumulator", "region_statistics"]

#: The N of "fraction of time with at least N satellites in view" reported per cell.
N_ASSET_LEVELS = (1, 2, 4, 8)


@numba.njit(nogil=True, cache=True)
def _accumulate(count, min_sats, levels, state_i, at_least):  # pragma: no cover - compiled
    # state_i columns: 0 covered steps, 1 sum count, 2 min, 3 max, 4 n_gaps, 5 current gap, 6 max gap,
    # 7 total gap steps, 8 n accesses, 9 first access start, 10 last access start, 11 previous covered,
    # 12 steps seen
    n_time, n_pts = count.shape
    for t in range(n_time):
        for m in range(n_pts):
            c = count[t, m]
            st = state_i[m]
            step = st[12]
            covered = c >= min_sats
            st[1] += c
            if c < st[2]:
                st[2] = c
            if c > st[3]:
                st[3] = c
            for q in range(levels.shape[0]):
                if c >= levels[q]:
                    at_least[m, q] += 1
            if covered:
                st[0] += 1
                if st[5] > 0:  # a gap just ended
                    st[4] += 1
                    st[7] += st[5]
                    if st[5] > st[6]:
                        st[6] = st[5]
                    st[5] = 0
                if st[11] == 0:  # an access starts
                    if st[8] == 0:
                        st[9] = step
                    st[8] += 1
                    st[10] = step
                st[11] = 1
            else:
                st[5] += 1
                st[11] = 0
            st[12] = step + 1


@dataclass
class MeritAccumulator:
    """Streams ``(time, point)`` satellite counts into per-point figures of merit.

    >>> acc = MeritAccumulator(n_points=2, step_s=60.0, min_sats=1)
    >>> acc.update(np.array([[1, 0], [0, 0], [2, 1]], dtype=np.uint16))
    >>> acc.result()["coverage_fraction"].round(3).tolist()
    [0.667, 0.333]
    """

    n_points: int
    step_s: float
    min_sats: int = 1
    _state: np.ndarray = field(init=False, repr=False)
    _at_least: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._state = np.zeros((self.n_points, 13), dtype=np.int64)
        self._state[:, 2] = np.iinfo(np.int64).max
        self._at_least = np.zeros((self.n_points, len(N_ASSET_LEVELS)), dtype=np.int64)

    def update(self, count: np.ndarray) -> None:
        """Add a chunk of counts with shape ``(time, point)``."""
        if count.ndim != 2 or count.shape[1] != self.n_points:
            raise ValueError(f"expected counts of shape (time, {self.n_points}), got {count.shape}")
        _accumulate(
            np.ascontiguousarray(count),
            self.min_sats,
            np.asarray(N_ASSET_LEVELS, dtype=np.int64),
            self._state,
            self._at_least,
        )

    @property
    def steps(self) -> int:
        return int(self._state[0, 12]) if self.n_points else 0

    def result(self) -> pd.DataFrame:
        """Figures of merit per point (one row each, in input order)."""
        st = self._state
        n = max(self.steps, 1)
        ongoing = st[:, 5] > 0  # a gap still open at the end of the span counts, truncated
        n_gaps = st[:, 4] + ongoing
        gap_steps = st[:, 7] + st[:, 5]
        max_gap = np.maximum(st[:, 6], st[:, 5])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_gap = np.where(n_gaps > 0, gap_steps / np.maximum(n_gaps, 1), 0.0) * self.step_s
            revisit = np.where(st[:, 8] > 1, (st[:, 10] - st[:, 9]) / np.maximum(st[:, 8] - 1, 1) * self.step_s, np.nan)
        table = {
            "coverage_fraction": st[:, 0] / n,
            "sats_in_view_mean": st[:, 1] / n,
            "sats_in_view_min": np.where(self.steps > 0, st[:, 2], 0),
            "sats_in_view_max": st[:, 3],
            "n_gaps": n_gaps,
            "max_gap_s": max_gap * self.step_s,
            "mean_gap_s": mean_gap,
            "revisit_time_mean_s": revisit,
            "n_accesses": st[:, 8],
        }
        for q, level in enumerate(N_ASSET_LEVELS):
            table[f"fraction_at_least_{level}"] = self._at_least[:, q] / n
        return pd.DataFrame(table)


def region_statistics(per_cell: pd.DataFrame, area_km2: np.ndarray) -> dict[str, float]:
    """Area-weighted aggregate of per-cell figures of merit for a region.

    Means are weighted by cell area (H3 cells of one resolution differ in area
    by up to a factor of two); extremes are over cells; ``area_fully_covered_fraction``
    is the share of the region's area covered 100 % of the time.
    """
    w = np.asarray(area_km2, dtype=float)
    total = float(w.sum())
    if total <= 0 or len(per_cell) == 0:
        return {"cells": 0, "area_km2": 0.0}

    def wmean(column: str) -> float:
        values = per_cell[column].to_numpy(dtype=float)
        ok = np.isfinite(values)
        return float(np.average(values[ok], weights=w[ok])) if ok.any() else float("nan")

    return {
        "cells": len(per_cell),
        "area_km2": total,
        "coverage_fraction": wmean("coverage_fraction"),
        "coverage_fraction_worst_cell": float(per_cell["coverage_fraction"].min()),
        "area_fully_covered_fraction": float(w[per_cell["coverage_fraction"].to_numpy() >= 1.0].sum() / total),
        "sats_in_view_mean": wmean("sats_in_view_mean"),
        "sats_in_view_min": float(per_cell["sats_in_view_min"].min()),
        "sats_in_view_max": float(per_cell["sats_in_view_max"].max()),
        "n_gaps_mean": wmean("n_gaps"),
        "max_gap_s": float(per_cell["max_gap_s"].max()),
        "mean_gap_s": wmean("mean_gap_s"),
        "revisit_time_mean_s": wmean("revisit_time_mean_s"),
        **{f"fraction_at_least_{n}": wmean(f"fraction_at_least_{n}") for n in N_ASSET_LEVELS},
    }
