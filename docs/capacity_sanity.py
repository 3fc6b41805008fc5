"""Sanity numbers for docs/validation_capacity.md (not asserted anywhere; run by hand, ~minutes).

1. Starlink v1.5 per-satellite forward capacity: the user-link ceiling (beams x beam rate at a typical
   geometry), the feeder limit, and what v1.5 satellites actually deliver over dense East Asia.
2. System throughput of the SpaceX filing as authorised in 2018 (4,425 satellites, 1,110-1,325 km, 40 deg mask),
   world land cells at H3 res 3, demand saturating (take rate 1), rain p = 0.5 % (del Portillo's 99.5 %),
   against del Portillo et al. (2019): 23.7 Tbps.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from skyfence.capacity.demand import DemandModel, population_per_cell
from skyfence.capacity.engine import run_capacity
from skyfence.capacity.link import c_over_n_from_pfd_db, combine_ratios_db, pfd_limit_db, scan_loss_db
from skyfence.capacity.modcod import bitrate_mbps, select_modcod
from skyfence.capacity.resources import get_generation
from skyfence.earth import cells as h3cells
from skyfence.earth.regions import get_region
from skyfence.orbits.elements import read_elements
from skyfence.orbits.time import time_grid
from skyfence.orbits.walker import Shell, walker

# SAT-LOA-20161115-00118 as authorised (FCC 18-38, March 2018): 4,425 satellites in five shells
FILED_2018 = (
    Shell(1150.0, 53.0, 32, 50, name="1150 km / 53 deg"),
    Shell(1110.0, 53.8, 32, 50, name="1110 km / 53.8 deg"),
    Shell(1130.0, 74.0, 8, 50, name="1130 km / 74 deg"),
    Shell(1275.0, 81.0, 5, 75, name="1275 km / 81 deg"),
    Shell(1325.0, 70.0, 6, 75, name="1325 km / 70 deg"),
)


def user_link_ceiling(name: str, elevation_deg: float) -> tuple[float, float]:
    gen = get_generation(name)
    pfd = float(pfd_limit_db(elevation_deg)) + 10 * np.log10(gen.channel_mhz * 1e6 / 4e3)
    cn = float(
        c_over_n_from_pfd_db(
            pfd,
            gen.freq_down_ghz,
            gen.terminal_g_over_t_db_k - float(scan_loss_db(90 - elevation_deg)),
            gen.channel_mhz * 1e6,
            0.3,
        )
    )
    sinr = float(combine_ratios_db(cn, gen.c_over_i_db()))
    beam = float(bitrate_mbps(select_modcod(sinr).efficiency_bit_per_symbol, gen.channel_mhz, gen.rolloff))
    return sinr, beam * gen.beams_per_sat / 1e3


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    for el in (40.0, 60.0):
        sinr, gbps = user_link_ceiling("starlink-v1.5", el)
        print(f"v1.5 user-link ceiling at {el:.0f} deg: C/(N+I) {sinr:.1f} dB -> {gbps:.1f} Gb/s (32 beams)")
    print(f"v1.5 feeder limit: {get_generation('starlink-v1.5').feeder_capacity_mbps() / 1e3:.2f} Gb/s")

    catalog = read_elements(os.path.join(os.environ["SKYFENCE_DATA_DIR"], "tle/omm_csv_2026/starlink_20260818.csv.gz"))
    times = time_grid(np.datetime64("2026-08-18T12:00:00", "ns"), f"{steps - 1}m", "60s")
    cells = np.unique(np.concatenate([get_region(c).cells(5) for c in ("TW", "JP", "KR")]))
    r = run_capacity(
        catalog,
        cells,
        times,
        generation="starlink-v1.5",
        rain_p=None,
        demand=DemandModel(take_rate=0.2, busy_hour_mbps=5.0),
        keep_satellite_load=True,
    )
    load = r.satellite_load_mbps
    busy = load[load > 0]
    print(
        f"v1.5 satellites over TW/JP/KR (heavy demand): delivered p50 {np.median(busy) / 1e3:.1f}, "
        f"p95 {np.percentile(busy, 95) / 1e3:.1f}, max {busy.max() / 1e3:.1f} Gb/s per satellite"
    )

    filed = walker(FILED_2018, epoch="2026-08-18T00:00:00", name="starlink-2018-filed")
    world = get_region("world").cells(3)
    pop = population_per_cell(world)
    land = world[pop > 0]
    r = run_capacity(
        filed,
        land,
        times,
        generation="starlink-gen1-filed",
        rain_p=0.5,
        demand=DemandModel(take_rate=1.0, busy_hour_mbps=5.0),
        population=pop[pop > 0],
    )
    total = r.dataset["offered_mbps"].sum("cell").mean("time").item() / 1e6
    print(
        f"2018 filing ({len(filed):,} sats), {len(land):,} populated res-3 cells: system throughput "
        f"{total:.1f} Tb/s (del Portillo 2019: 23.7 Tb/s); max per satellite "
        f"{get_generation('starlink-gen1-filed').feeder_capacity_mbps() / 1e3:.1f} Gb/s"
    )
    lat, _ = h3cells.cell_centers(land)
    print(
        f"  cells served: {(r.dataset['offered_mbps'].mean('time') > 0).mean().item():.0%}; lat span "
        f"{lat.min():.0f}..{lat.max():.0f}"
    )


def measurements(steps: int = 10) -> None:
    """Mb/s per user against the MODA 2024 Taiwan test and Ookla's 2025 US medians."""
    root = os.environ["SKYFENCE_DATA_DIR"]
    catalog = read_elements(os.path.join(root, "tle/starlink_20250923.tle"))
    times = time_grid(np.datetime64("2025-09-23T12:00:00", "ns"), f"{steps - 1}m", "60s")  # 20:00 Taipei
    tw = get_region("TW").cells(5)
    north = tw[h3cells.cell_centers(tw)[0] >= 24.5]
    moda = DemandModel(take_rate=773 / 23.5e6)  # the 773 test terminals of MODA's 2024 programme
    r = run_capacity(catalog, north, times, rain_p=None, demand=moda)
    print(
        f"north Taiwan, 773 terminals: median {r.statistics['mbps_per_user_median']:.0f} Mb/s per user "
        f"(plan peak {moda.plan_peak_mbps:.0f}); MODA 2024 measured ~90 Mb/s down"
    )
    for take in (0.02, 0.05):
        r = run_capacity(catalog, north, times, rain_p=None, demand=DemandModel(take_rate=take))
        print(
            f"north Taiwan, take rate {take:.0%}: median {r.statistics['mbps_per_user_median']:.1f}, p10 "
            f"{r.statistics['mbps_per_user_p10']:.1f} Mb/s per user; served {r.statistics['served_fraction']:.0%}"
        )
    us = get_region("US").cells(5)
    times_us = time_grid(np.datetime64("2025-09-24T02:00:00", "ns"), f"{steps - 1}m", "60s")  # 21:00 CDT
    for take in (0.006, 0.01):
        r = run_capacity(catalog, us, times_us, rain_p=None, demand=DemandModel(take_rate=take))
        print(
            f"US, take rate {take:.1%} of people: median {r.statistics['mbps_per_user_median']:.0f}, p10 "
            f"{r.statistics['mbps_per_user_p10']:.0f} Mb/s per user; Ookla 2025 medians ~105-130 Mb/s"
        )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "measurements":
        measurements(int(sys.argv[1]))
    else:
        main()
