"""Benchmark: `skyfence latency world` -- every country with a gazetteer city, 24 h at 15 min, access model on.

Workload (issue 16): the 2025-09-23 Starlink catalog, the default ground segment with the operator PoP
assignment and the gateway inference rule, generation laser availability, up to 3 terminals per country,
97 intervals x 30 packets each.  Target: <= 5 min on this machine (whole process incl. imports and the output
files).  Baseline, in the same script: one `skyfence latency country CC` process per country on a subsample,
extrapolated to every country.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, report

SUBSAMPLE = ("DE", "KI", "BR", "KZ")


def _timed(args: list[str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "skyfence", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    rss_mb = float(proc.stderr.strip().splitlines()[-1]) / 1024.0
    return seconds, rss_mb, proc.stdout


def main() -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "world"
        seconds, rss_mb, stdout = _timed(["latency", "world", "--out", str(out)])
        print(stdout.strip())
        import pandas as pd

        table = pd.read_csv(out / "latency_by_country.csv", keep_default_na=False)
    n_countries = len(table)
    print(f"ours: {n_countries} countries in {seconds:.1f} s, peak {rss_mb:.0f} MB")
    per_country = []
    for code in SUBSAMPLE:
        s, _, _ = _timed(["latency", "country", code])
        per_country.append(s)
        print(f"baseline: skyfence latency country {code}: {s:.1f} s")
    baseline_seconds = sum(per_country) / len(per_country) * n_countries
    print(f"baseline extrapolated to {n_countries} countries: {baseline_seconds:.0f} s")
    report(
        {
            "workload": f"latency world: {n_countries} countries, 24 h @ 15 min, access model on, operator PoPs",
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(rss_mb, 0),
            "baseline": f"per-country `skyfence latency country` on {len(SUBSAMPLE)} countries, extrapolated",
            "baseline_seconds": round(baseline_seconds, 0),
            "speedup": round(baseline_seconds / seconds, 1),
            "countries_per_s": round(n_countries / seconds, 2),
        }
    )


if __name__ == "__main__":
    main()
