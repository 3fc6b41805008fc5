"""Benchmark: ``skyfence export czml`` of the real Starlink catalog of 2026-08-18 (10,925 satellites with positions),
1 h at 60 s, with every satellite's gateway link (--gsl) and the +grid laser links (--isl).

Baseline, in the same process: the same document with every link piece (interval, position list, references)
built through czml3's validating constructors, as the library is normally used; ours validates that shape once and
builds the tens of thousands of repeats without re-validation.  Both files must be byte-identical.  Wall and CPU
time are recorded (the machine may be shared).  The last printed line is the JSON record for BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report

SOURCE, START, DURATION, STEP = "starlink_omm_20260818", "2026-08-18T12:00:00Z", "1h", "60s"


def _run():
    from skyfence.report.czml import export_czml

    wall, cpu = time.perf_counter(), time.process_time()
    export = export_czml(SOURCE, start=START, duration=DURATION, step=STEP, gsl=True, isl=True)
    return export, time.perf_counter() - wall, time.process_time() - cpu


def _validating():
    """Make czml3's ``model_construct`` of the link pieces validate, as their ordinary constructors do."""
    from czml3.properties import PositionList
    from czml3.types import IntervalValue, ReferenceListValue

    classes = (PositionList, IntervalValue, ReferenceListValue)

    def construct(cls, **fields):
        return cls(**fields)

    for cls in classes:
        cls.model_construct = classmethod(construct)  # type: ignore[method-assign, assignment]
    return classes


def main() -> None:
    _run()  # warm: catalog parse cache, numba, skyfield's timescale
    ours, ours_s, ours_cpu = _run()
    patched = _validating()
    try:
        base, base_s, base_cpu = _run()
    finally:
        for cls in patched:
            del cls.model_construct  # back to pydantic's inherited one
    assert base.text == ours.text, "the baseline wrote a different file"
    samples = ours.satellites * ours.samples_per_satellite
    print(f"machine: {machine()}")
    print(
        f"workload: {ours.satellites:,} satellites x {ours.samples_per_satellite} samples, {ours.sites} sites, "
        f"{ours.gsl_links:,} GSL + {ours.isl_links:,} ISL packets, {len(ours.text) / 1e6:.1f} MB"
    )
    print(f"ours: {ours_s:.2f} s wall, {ours_cpu:.2f} s CPU")
    print(f"baseline (every link piece validated): {base_s:.2f} s wall, {base_cpu:.2f} s CPU")
    report(
        {
            "workload": "export czml starlink_omm_20260818 1h@60s --gsl --isl",
            "seconds": round(ours_s, 2),
            "cpu_seconds": round(ours_cpu, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "czml3 validating constructors for every link piece",
            "baseline_seconds": round(base_s, 2),
            "baseline_cpu_seconds": round(base_cpu, 2),
            "speedup": round(base_s / ours_s, 2),
            "speedup_cpu": round(base_cpu / ours_cpu, 2),
            "packets": ours.packets,
            "megabytes": round(len(ours.text) / 1e6, 1),
            "satellite_samples_per_s": round(samples / ours_s),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
