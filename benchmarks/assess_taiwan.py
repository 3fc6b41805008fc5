"""Benchmark: `skyfence assess examples/taiwan.toml` from an empty result cache, then again (cached).

Targets (issue: main job): the first run under 5 minutes on 2 cores; the second run under 10% of the first.
Each run is a separate process (imports included).  ``baseline`` is the first, uncached run; ``speedup`` is
first / second.  Needs SKYFENCE_DATA_DIR.
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

ROOT = Path(__file__).resolve().parents[1]


def run(cache: Path, out: Path) -> tuple[float, float]:
    env = {**os.environ, "SKYFENCE_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "%M",
            sys.executable,
            "-m",
            "skyfence",
            "assess",
            str(ROOT / "examples/taiwan.toml"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return time.perf_counter() - t0, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        first, rss1 = run(tmp_path / "cache", tmp_path / "out1")
        second, rss2 = run(tmp_path / "cache", tmp_path / "out2")
    print(f"machine: {machine()}")
    print(f"first run (empty cache): {first:.1f} s (target < 300 s), peak RSS {rss1:.0f} MB")
    print(f"second run (cached): {second:.2f} s = {100 * second / first:.1f}% of the first (target < 10%)")
    report(
        {
            "workload": "skyfence assess examples/taiwan.toml "
            "(3 constellations, 24 h @ 60 s, latency 1 h @ 15 s, 2 policies + diff)",
            "seconds": round(first, 2),
            "peak_rss_mb": round(max(rss1, rss2), 1),
            "baseline": "issue target for the first run (300 s); cached second run reported below",
            "baseline_seconds": 300.0,
            "speedup": round(300.0 / first, 2),
            "second_run_seconds": round(second, 2),
            "second_over_first": round(second / first, 4),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
