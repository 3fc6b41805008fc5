"""Benchmark: capacity over East Asia -- real Starlink catalog, populated H3 res-5 cells, 24 h at 60 s.

Workload (issue 13): the real Starlink OMM snapshot of 2026-08-18 (10,926 satellites, generations from the
catalog) over every populated H3 res-5 cell of Taiwan, Japan, South Korea, the Philippines and coastal China
(China east of 113 E and south of 42 N, the seaboard provinces, as demand competing for the same satellites);
link budgets (downlink and uplink) for every satellite-cell pair in view, ITU-R rain at p = 0.1 %, gateways from
the community list, demand-proportional allocation on both links.  Cold itur cache (a fresh SKYFENCE_CACHE_DIR).
Target: <= 60 s, <= 3 GB.

Baseline, same process: a per-pair numpy evaluation -- elevation of every satellite over every cell by
broadcasting, then for the pairs in view FSPL-free PFD C/N with a direct ``itur.atmospheric_attenuation_slant_path``
call per pair batch, scan loss, C/(N+I), MODCOD -- timed on a subsample of steps (and, for itur, of the pairs of
a step) and extrapolated to 1,440 steps.  Last line: the JSON record for BENCHMARKS.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report

STEPS = 1440
BASELINE_STEPS = 2
ITUR_SAMPLE_PAIRS = 3000
CATALOG = "tle/omm_csv_2026/starlink_20260818.csv.gz"
START = np.datetime64("2026-08-18T00:00:00", "ns")


def east_asia_cells(res: int = 5) -> np.ndarray:
    from skyfence.earth import cells as h3cells
    from skyfence.earth.regions import get_region

    parts = [get_region(code).cells(res) for code in ("TW", "JP", "KR", "PH")]
    china = get_region("CN").cells(res)
    lat, lon = h3cells.cell_centers(china)
    parts.append(china[(lon >= 113.0) & (lat <= 42.0)])
    return np.unique(np.concatenate(parts))


def baseline_step_seconds(constellation, cells, when, gen) -> tuple[float, int]:
    """Per-pair numpy link budgets for one step, itur called directly; returns (seconds, pairs in view)."""
    from skyfence.capacity.atmosphere import direct_attenuation_db
    from skyfence.capacity.link import c_over_n_from_pfd_db, pfd_limit_db, scan_loss_db
    from skyfence.capacity.modcod import select_modcod
    from skyfence.earth import cells as h3cells
    from skyfence.earth.geodesy import enu_basis, geodetic_to_ecef
    from skyfence.orbits.propagate import iter_positions

    lat, lon = h3cells.cell_centers(cells)
    t0 = time.perf_counter()
    pos = next(iter(iter_positions(constellation, np.array([when])))).position_itrf_km[:, 0, :]
    ground = geodetic_to_ecef(lat, lon, 0.0)
    up = enu_basis(lat, lon)[:, 2, :]
    pairs_c, pairs_el = [], []
    for lo in range(0, len(cells), 500):  # blocks of cells x all satellites
        d = pos[None, :, :] - ground[lo : lo + 500, None, :]
        rng = np.linalg.norm(d, axis=2)
        el = np.degrees(np.arcsin(np.einsum("csk,ck->cs", d, up[lo : lo + 500]) / rng))
        c_idx, s_idx = np.nonzero(el >= gen.min_elevation_deg)
        pairs_c.append(c_idx + lo)
        pairs_el.append(el[c_idx, s_idx])
    cell_idx = np.concatenate(pairs_c)
    elev = np.concatenate(pairs_el)
    geometry_s = time.perf_counter() - t0
    # itur on a sample of the pairs, extrapolated to all of them
    sample = np.linspace(0, len(elev) - 1, min(ITUR_SAMPLE_PAIRS, len(elev))).astype(int)
    t1 = time.perf_counter()
    loss = direct_attenuation_db(lat[cell_idx[sample]], lon[cell_idx[sample]], 11.7, elev[sample], 0.1, 0.55)
    itur_s = (time.perf_counter() - t1) * len(elev) / len(sample)
    t2 = time.perf_counter()
    pfd = pfd_limit_db(elev) + 10 * np.log10(gen.channel_mhz * 1e6 / 4e3)
    cn = c_over_n_from_pfd_db(
        pfd,
        11.7,
        gen.terminal_g_over_t_db_k - scan_loss_db(90 - elev),
        gen.channel_mhz * 1e6,
        np.resize(loss, len(elev)),
    )
    sinr = -10 * np.log10(10 ** (-cn / 10) + 10 ** (-gen.c_over_i_db() / 10))
    select_modcod(sinr)
    return geometry_s + itur_s + (time.perf_counter() - t2), len(elev)


def main() -> None:
    from skyfence.capacity.engine import run_capacity
    from skyfence.capacity.resources import get_generation
    from skyfence.network.ground import load_ground_segment
    from skyfence.orbits.elements import read_elements
    from skyfence.orbits.time import time_grid

    os.environ["SKYFENCE_CACHE_DIR"] = tempfile.mkdtemp(prefix="skyfence-bench-capacity-")  # cold itur cache
    constellation = read_elements(Path(os.environ["SKYFENCE_DATA_DIR"]) / CATALOG)
    cells = east_asia_cells()
    ground = load_ground_segment()
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS  # a shorter run for a quick look
    times = time_grid(START, f"{steps - 1}m", "60s")
    print(f"{machine()}; {len(constellation):,} satellites x {len(cells):,} cells x {len(times):,} steps", flush=True)

    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run_capacity(constellation, cells, times, rain_p=0.1, ground=ground)
    ours = time.perf_counter() - t0
    ours_cpu = time.process_time() - cpu0
    load = os.getloadavg()[0]
    rss = peak_rss_mb()
    stats = result.statistics
    print(
        f"ours: {ours:.1f} s wall, {ours_cpu:.1f} s CPU (both threads), load average {load:.1f} on "
        f"{os.cpu_count()} cores; peak RSS {rss:,.0f} MB; pairs beyond k: {result.settings['pairs_beyond_k']}"
    )
    print(
        f"East Asia: demand {stats['demand_gbps']:,.0f} Gb/s, offered {stats['offered_gbps_mean']:,.0f} Gb/s, "
        f"served {stats['served_fraction']:.1%}, median {stats['mbps_per_user_median']:.1f} Mb/s per user; uplink "
        f"offered {stats.get('offered_up_gbps_mean', float('nan')):,.0f} Gb/s, median "
        f"{stats.get('mbps_per_user_up_median', float('nan')):.1f} Mb/s per user"
    )

    gen = get_generation("starlink-v1.5")
    per_step, pairs = [], []
    for i in range(BASELINE_STEPS):
        seconds, n = baseline_step_seconds(constellation, cells, times[(i * 700) % len(times)], gen)
        per_step.append(seconds)
        pairs.append(n)
    baseline = float(np.mean(per_step)) * len(times)
    print(f"baseline: {np.mean(per_step):.2f} s/step over {np.mean(pairs):,.0f} pairs in view -> {baseline:,.0f} s")
    report(
        {
            "workload": "capacity East Asia res 5, real Starlink 2026-08-18, 24 h @ 60 s, rain p=0.1%",
            "seconds": round(ours, 2),
            "cpu_seconds": round(ours_cpu, 1),
            "load_average": round(load, 1),
            "peak_rss_mb": round(rss, 1),
            "baseline": "per-pair numpy link budget + direct itur, 2 steps (itur on 3,000 pairs), extrapolated",
            "baseline_seconds": round(baseline, 1),
            "speedup": round(baseline / ours, 1),
            "cells": len(cells),
            "satellites": len(constellation),
            "steps": len(times),
            "pairs_in_view_per_step": int(np.mean(pairs)),
            "pair_link_budgets_per_s": round(float(np.mean(pairs)) * len(times) / ours),
        }
    )


if __name__ == "__main__":
    main()
