"""Benchmark: 10 million random terminal fixes worldwide decided under the real-world 2026 policy.

Workload: ``examples/policies/real_world_2026.toml`` (Natural Earth 10m German point of view, the 2026-07-23
availability feed, DeepState 2026-08-22, 14 rules) against 10,000,000 fixes uniform on the sphere, each with a
random plan, speed, altitude, whitelist flag, registration country, end use, days abroad and a time in 2026.
``seconds`` is the best of three full ``Engine.evaluate`` calls (validation of every column, locating every fix,
all rules, decision + rule + reason code per fix) on one core; compiling the policy's tile index is reported
separately (``compile_seconds``), as it is built once per policy.

Baseline: the same decisions with a shapely STRtree point-in-polygon for every fix (``method="exact"``: an
STR-tree bounding-box query, then a prepared ``intersects_xy`` per candidate polygon -- no tile index), timed on a
100,000-fix subsample and extrapolated linearly to 10 M.  The script checks that both give identical decisions
and deciding rules on that subsample and fails otherwise.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core: the kernels are serial anyway
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, machine, peak_rss_mb, report
from skyfence.policy import load_policy

N = 10_000_000
SUBSAMPLE = 100_000
POLICY = Path(__file__).resolve().parents[1] / "examples" / "policies" / "real_world_2026.toml"


def random_fixes(n: int, seed: int = 2026) -> dict:
    rng = np.random.default_rng(seed)
    plans = ["residential", "roam", "maritime", "aviation"]
    return {
        "lat": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))),
        "lon": rng.uniform(-180.0, 180.0, n),
        "plan": pd.Categorical.from_codes(rng.integers(0, 4, n).astype(np.int8), categories=plans),
        "speed_kmh": np.where(rng.random(n) < 0.7, 0.0, rng.uniform(0.0, 1200.0, n)),
        "alt_m": np.where(rng.random(n) < 0.8, rng.uniform(0.0, 500.0, n), rng.uniform(0.0, 16_000.0, n)),
        "whitelisted": rng.random(n) < 0.5,
        "registered_in": pd.Categorical.from_codes(
            rng.integers(0, 6, n).astype(np.int8), categories=["UA", "US", "DE", "PL", "TW", "RU"]
        ),
        "end_use": pd.Categorical.from_codes(
            (rng.random(n) < 0.01).astype(np.int8), categories=["", "military_aircraft"]
        ),
        "days_abroad": rng.integers(0, 120, n).astype(float),
        "time": np.datetime64("2026-01-01", "ns") + rng.integers(0, 365 * 86_400, n).astype("timedelta64[s]"),
    }


def subsample(columns: dict, rows: np.ndarray) -> dict:
    return {k: (v[rows] if not isinstance(v, pd.Categorical) else v.take(rows)) for k, v in columns.items()}


def main() -> None:
    policy = load_policy(POLICY)
    engine = policy.engine()
    t0 = time.perf_counter()
    index = engine.index
    compile_seconds = time.perf_counter() - t0
    print(
        f"policy {policy.name} ({policy.short_id}): {len(engine.clauses)} clauses, "
        f"tile index {index.nrows}x{index.ncols} built in {compile_seconds:.2f} s, "
        f"{index.boundary_fraction:.2%} boundary tiles"
    )

    fixes = random_fixes(N)
    engine.evaluate(subsample(fixes, np.arange(1000)), method="index")  # warm the numba kernels
    result = {}

    def run() -> None:
        result["decisions"] = engine.evaluate(fixes, method="index")

    seconds = best_of(run, repeats=3)
    decisions = result["decisions"]
    rate = N / seconds
    print(f"{N:,} fixes in {seconds:.2f} s = {rate:,.0f} decisions/s; {decisions.counts()}")

    rows = np.sort(np.random.default_rng(1).choice(N, SUBSAMPLE, replace=False))
    sample = subsample(fixes, rows)
    t0 = time.perf_counter()
    reference = engine.evaluate(sample, method="exact")
    baseline_sub = time.perf_counter() - t0
    baseline_seconds = baseline_sub * N / SUBSAMPLE
    same_decision = np.array_equal(reference.decision, decisions.decision[rows])
    same_rule = np.array_equal(reference.rule, decisions.rule[rows]) and np.array_equal(
        reference.clause, decisions.clause[rows]
    )  # same rule and same reason code
    mismatches = int(
        np.count_nonzero(
            (reference.decision != decisions.decision[rows])
            | (reference.rule != decisions.rule[rows])
            | (reference.clause != decisions.clause[rows])
        )
    )
    print(
        f"STRtree baseline: {SUBSAMPLE:,} fixes in {baseline_sub:.2f} s → {baseline_seconds:.1f} s for {N:,}; "
        f"identical decisions: {same_decision}, identical rules: {same_rule} ({mismatches} mismatches)"
    )
    report(
        {
            "workload": "real_world_2026 policy, 10M random fixes worldwide (all columns), one core",
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "shapely STRtree bbox query + prepared intersects_xy per fix, same rules; "
            f"timed on {SUBSAMPLE:,} fixes, extrapolated",
            "baseline_seconds": round(baseline_seconds, 2),
            "speedup": round(baseline_seconds / seconds, 1),
            "decisions_per_s": round(rate),
            "identical_to_baseline": bool(same_decision and same_rule),
            "compile_seconds": round(compile_seconds, 2),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )
    if mismatches:
        sys.exit(f"{mismatches} decisions differ from the STRtree baseline")


if __name__ == "__main__":
    main()
