"""Benchmark: Starlink-550 preset (1,584 satellites) x 1,000 steps of 60 s, SGP4 -> ITRF.

Baselines, in the same process:
1. ``SatrecArray.sgp4`` alone (TEME only, no frame rotation) -- target: ours >= 0.8x its throughput;
2. a skyfield loop, one ``EarthSatellite.at(t).frame_xyz(itrs)`` per satellite per step, on a
   subsample (extrapolated per position) -- target: ours >= 50x faster.
The last printed line is the JSON record for BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, machine, peak_rss_mb, report
from skyfence.orbits.propagate import iter_positions
from skyfence.orbits.time import julian_date_utc, skyfield_time, time_grid, timescale
from skyfence.orbits.walker import preset

N_STEPS = 1000


def main() -> None:
    constellation = preset("starlink-550")
    times = time_grid("2026-01-01T00:00:00Z", (N_STEPS - 1) * 60, "60s")
    n_sat = len(constellation)
    assert n_sat == 1584, n_sat
    pairs = n_sat * len(times)

    jd, fr = julian_date_utc(times)
    satrecs = constellation.satrec_array
    raw_s = best_of(lambda: satrecs.sgp4(jd, fr))

    def ours():
        for _ in iter_positions(constellation, times):
            pass

    ours(), ours()  # warm caches (skyfield's timescale, nutation tables)
    ours_s = best_of(ours)

    # skyfield loop: 16 satellites x 25 steps, one call per satellite per step.
    from skyfield.api import EarthSatellite
    from skyfield.framelib import itrs

    sample_sats = [EarthSatellite.from_satrec(s, timescale()) for s in constellation.satrecs[:16]]
    sample_times = [skyfield_time(t) for t in times[:25]]
    t0 = time.perf_counter()
    for sat in sample_sats:
        for t in sample_times:
            sat.at(t).frame_xyz(itrs)
    loop_per_position = (time.perf_counter() - t0) / (len(sample_sats) * len(sample_times))
    skyfield_s = loop_per_position * pairs

    print(f"machine: {machine()}")
    print(f"workload: {n_sat} satellites x {len(times)} steps = {pairs:,} positions")
    print(f"raw SatrecArray.sgp4 (TEME): {raw_s:.3f} s  ({pairs / raw_s / 1e6:.2f} M positions/s)")
    print(f"skyfence iter_positions (ITRF): {ours_s:.3f} s  ({pairs / ours_s / 1e6:.2f} M positions/s)")
    print(f"  = {raw_s / ours_s:.2f}x raw throughput (target >= 0.8)")
    print(
        f"skyfield loop (extrapolated from 400 calls): {skyfield_s:.1f} s -> {skyfield_s / ours_s:.0f}x (target >= 50)"
    )
    report(
        {
            "workload": "propagate starlink-550 1584 sats x 1000 steps to ITRF",
            "seconds": round(ours_s, 4),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "sgp4.SatrecArray.sgp4 (TEME only)",
            "baseline_seconds": round(raw_s, 4),
            "speedup": round(raw_s / ours_s, 3),
            "skyfield_loop_seconds_extrapolated": round(skyfield_s, 2),
            "speedup_vs_skyfield_loop": round(skyfield_s / ours_s, 1),
            "positions_per_s": round(pairs / ours_s),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
