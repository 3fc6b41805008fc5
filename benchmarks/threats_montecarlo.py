"""Benchmark: 200 random-attrition draws over Taiwan, 24 h at 60 s, the real Starlink catalog (2025-09-23 TLE).

Ours: the visibility kernel runs once and keeps the satellites in view per (time, cell)
(:func:`skyfence.threats.viewsets.compute_viewsets`); each draw removes a random fraction of the satellites
(0.05 ... 0.95, cycling) and recomputes the figures of merit from masked counts.  The time includes loading the
catalog, the region's cells and the one visibility pass.

Baseline (the issue's): re-run the coverage engine (:func:`skyfence.coverage.engine.run_coverage`) on the
surviving satellites for each draw -- on a few draws, extrapolated to 200.  The baseline's counts are checked to
equal ours on those draws.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report

DRAWS = 200
BASELINE_DRAWS = 3
TARGET_S = 60.0


def main() -> None:
    from skyfence.coverage.engine import run_coverage
    from skyfence.earth.regions import get_region
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import time_grid
    from skyfence.threats.montecarlo import draw_metrics, random_attrition_steps
    from skyfence.threats.viewsets import compute_viewsets

    tle = Path(os.environ["SKYFENCE_DATA_DIR"]) / "tle/starlink_20250923.tle"
    fractions = np.linspace(0.05, 0.95, 19)

    t0 = time.perf_counter()
    constellation = load_constellation(tle)
    cells = get_region("TW").cells(5)
    times = time_grid("2025-09-23T12:00:00Z", "24h", "60s")
    view = compute_viewsets(constellation, cells, times, min_elevation_deg=25.0)
    t_view = time.perf_counter() - t0
    coverage = []
    for i in range(DRAWS):
        coverage.append(
            draw_metrics(view, random_attrition_steps(view, fractions[i % len(fractions)], i))["coverage_fraction"]
        )
    ours = time.perf_counter() - t0
    print(
        f"ours: view sets {t_view:.1f} s ({len(constellation):,} sats x {len(cells)} cells x {len(times)} steps), "
        f"{DRAWS} draws {ours - t_view:.1f} s, total {ours:.1f} s"
    )

    t1 = time.perf_counter()
    for i in range(BASELINE_DRAWS):
        steps = random_attrition_steps(view, fractions[i % len(fractions)], i)
        survivors = steps > 0
        rerun = run_coverage(constellation.subset(survivors), cells, times, min_elevation_deg=25.0)
        assert np.array_equal(rerun.counts["sats_in_view"].to_numpy(), view.counts(steps)), "baseline disagrees"
    per_draw = (time.perf_counter() - t1) / BASELINE_DRAWS
    baseline = per_draw * DRAWS
    print(
        f"baseline: run_coverage per draw {per_draw:.2f} s -> {baseline:.0f} s for {DRAWS} draws (extrapolated "
        f"from {BASELINE_DRAWS}); counts identical"
    )
    print(f"coverage over draws: min {min(coverage):.3f}, max {max(coverage):.3f}")
    report(
        {
            "workload": f"{DRAWS} random-attrition draws x Taiwan (res 5, {len(cells)} cells) x 24 h @ 60 s, "
            f"Starlink TLE 2025-09-23 ({len(constellation):,} sats)",
            "seconds": round(ours, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": f"run_coverage per draw on the survivors ({BASELINE_DRAWS} draws, extrapolated)",
            "baseline_seconds": round(baseline, 1),
            "speedup": round(baseline / ours, 1),
            "draws_per_s": round(DRAWS / (ours - t_view), 1),
            "target_seconds": TARGET_S,
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
