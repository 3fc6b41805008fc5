"""Benchmark: region statistics from the CLI, 24 h at 60 s, for Taiwan, Ukraine (NE 50m) and the occupied area
(DeepState 2026-08-22), each with the real Starlink (2025-09-23 TLE) and OneWeb (2025-09-23 TLE) snapshots.

Each run is a separate ``skyfence coverage ... --json`` process (imports included).  The issue names no baseline
for this workload, only a target of one minute per run; ``baseline`` is that target and ``speedup`` the ratio to
it for the slowest run.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, report

REGIONS = ("TW", "UA", "occupied:ua:2026-08-22")
TARGET_S = 60.0


def main() -> None:
    mirror = Path(os.environ["SKYFENCE_DATA_DIR"])
    starlink = mirror / "tle/starlink_20250923.tle"
    oneweb = mirror / "tle/oneweb_20250923.tle"
    skyfence = Path(sys.executable).with_name("skyfence")
    worst = 0.0
    peak_mb = 0.0
    for region in REGIONS:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                "/usr/bin/time",
                "-f",
                "%M",
                str(skyfence),
                "coverage",
                str(starlink),
                "--compare",
                str(oneweb),
                "--region",
                region,
                "--res",
                "5",
                "--start",
                "2025-09-23T12:00:00Z",
                "--duration",
                "24h",
                "--step",
                "60s",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - t0
        worst = max(worst, elapsed)
        peak_mb = max(peak_mb, int(proc.stderr.strip().splitlines()[-1]) / 1024)
        summary = json.loads(proc.stdout)
        cells = summary["cells"]
        for entry in summary["sources"]:
            print(
                f"{region:>24} {entry['name']:>18}: {cells} cells, coverage {entry['coverage_fraction']:.3f}, "
                f"mean sats {entry['sats_in_view_mean']:.1f}, max gap {entry['max_gap_s']:.0f} s"
            )
        print(f"{region:>24}: {elapsed:.1f} s for both sources (target {TARGET_S:.0f} s)")
    report(
        {
            "workload": "skyfence coverage CLI, 24 h @ 60 s, Starlink+OneWeb, slowest of TW / UA / occupied UA",
            "seconds": round(worst, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "baseline": "issue target: 60 s per region run",
            "baseline_seconds": TARGET_S,
            "speedup": round(TARGET_S / worst, 2),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
