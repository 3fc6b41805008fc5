"""Benchmark: real Starlink OMM snapshot (~10,900 satellites) x all 41,162 H3 res-3 cells x 1,440 steps of 60 s, 25 deg.

Target: <= 20 s wall and <= 2 GB peak memory on 2 cores.  Baseline, same inputs, same process:
scipy ``cKDTree.query_ball_point`` over the cells' ECEF positions around each sub-satellite point (radius: the
footprint chord), then the exact elevation test on the candidates with numpy -- timed on a few steps and
extrapolated per step.  Needs SKYFENCE_DATA_DIR (the data mirror).  Last line: the JSON record for BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report
from skyfence import data
from skyfence.coverage.merit import MeritAccumulator
from skyfence.coverage.visibility import GroundGrid, iter_visibility, max_central_angle_deg
from skyfence.earth.cells import cell_centers
from skyfence.earth.geodesy import WGS84_B_KM, enu_basis, geodetic_to_ecef
from skyfence.earth.regions import get_region
from skyfence.orbits.elements import read_elements
from skyfence.orbits.propagate import iter_positions
from skyfence.orbits.time import time_grid

MASK_DEG = 25.0
BASELINE_STEPS = 3


def kdtree_counts(tree, ecef, normal, positions: np.ndarray) -> np.ndarray:
    """Baseline: satellites in view per cell for one time step, cKDTree candidates + exact test."""
    sin_mask = np.sin(np.radians(MASK_DEG))
    counts = np.zeros(len(ecef), dtype=np.uint16)
    r = np.linalg.norm(positions, axis=1)
    ok = np.isfinite(r)
    lam = np.radians(max_central_angle_deg(r[ok] - WGS84_B_KM, MASK_DEG) + 0.2)
    chord = 2.0 * 6378.137 * np.sin(lam / 2.0)
    sub = positions[ok] / r[ok, None] * 6371.0
    for p, q, radius in zip(positions[ok], sub, chord, strict=True):
        idx = np.asarray(tree.query_ball_point(q, radius + 25.0), dtype=np.int64)
        if idx.size == 0:
            continue
        d = p - ecef[idx]
        up = np.einsum("ij,ij->i", d, normal[idx])
        visible = up >= sin_mask * np.linalg.norm(d, axis=1)
        counts[idx[visible]] += 1
    return counts


def main() -> None:
    from scipy.spatial import cKDTree

    t_setup = time.perf_counter()
    constellation = read_elements(data.path("starlink_omm_20260818"))
    cells = get_region("world").cells(3)
    assert len(cells) == 41_162, len(cells)
    times = time_grid("2026-08-18T16:00:00Z", "1439m", "60s")
    lat, lon = cell_centers(cells)
    setup_s = time.perf_counter() - t_setup

    t0 = time.perf_counter()
    grid = GroundGrid.from_latlon(lat, lon)
    merit = MeritAccumulator(n_points=len(cells), step_s=60.0)
    pairs = 0
    for chunk in iter_visibility(constellation, grid, times, min_elevation_deg=MASK_DEG):
        merit.update(chunk.count)
        pairs += int(chunk.count.sum(dtype=np.int64))
    stats = merit.result()
    ours_s = time.perf_counter() - t0
    peak = peak_rss_mb()

    # Baseline on the first steps, same positions.
    ecef = geodetic_to_ecef(lat, lon, 0.0)
    normal = enu_basis(lat, lon)[:, 2, :]
    tree = cKDTree(ecef)
    chunk = next(iter_positions(constellation, times[:BASELINE_STEPS]))
    t0 = time.perf_counter()
    base = [kdtree_counts(tree, ecef, normal, chunk.position_itrf_km[:, i]) for i in range(BASELINE_STEPS)]
    baseline_per_step = (time.perf_counter() - t0) / BASELINE_STEPS
    baseline_s = baseline_per_step * len(times)
    # The baseline must agree with ours on those steps (same geometry, same positions).
    check = next(iter_visibility(constellation, grid, times[:BASELINE_STEPS], min_elevation_deg=MASK_DEG)).count
    assert np.array_equal(np.asarray(base), check), "baseline and kernel disagree"

    n = len(constellation)
    print(f"machine: {machine()}")
    print(f"inputs: {n:,} satellites, {len(cells):,} cells, {len(times)} steps (setup {setup_s:.1f} s, not timed)")
    print(f"ours: {ours_s:.2f} s wall, peak RSS {peak:.0f} MB, {pairs / ours_s / 1e6:.0f} M visible pairs/s")
    print(
        f"mean satellites in view: {stats['sats_in_view_mean'].mean():.1f}; "
        f"cells never covered: {(stats['coverage_fraction'] == 0).sum()}"
    )
    print(f"baseline cKDTree: {baseline_per_step:.2f} s/step -> {baseline_s:.0f} s for {len(times)} steps")
    report(
        {
            "workload": f"coverage starlink_20260818 ({n} sats) x 41162 res-3 cells x 1440 steps, 25 deg",
            "seconds": round(ours_s, 2),
            "peak_rss_mb": round(peak, 1),
            "baseline": "scipy cKDTree.query_ball_point per satellite + exact test (extrapolated from 3 steps)",
            "baseline_seconds": round(baseline_s, 1),
            "speedup": round(baseline_s / ours_s, 1),
            "visible_pairs_per_s": round(pairs / ours_s),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
