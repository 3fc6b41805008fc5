"""Benchmark: 10 million fixes from 100,000 terminals through all misuse detectors, offline, on one core.

Workload: a labelled fleet synthesised by :func:`skyfence.detection.synthesize_fleet` (real cities, sea lanes,
DeepStateMap polygon, CelesTrak Starlink snapshot of 2026-08-18 for the serving satellites) with 100,000
terminals over 100 minutes at one fix a minute (fixed terminals too), about 100 fixes each.  Synthesis is not
timed.  ``seconds`` is the best of two full :func:`skyfence.detection.detect` calls on the reported columns under
``examples/policies/real_world_2026.toml``: input checks, the policy decision at every reported position and beam
centre, beam-cell centres, SGP4 for every distinct (serving satellite, time) pair and the TEME->ITRF rotation,
elevations, geofence bands, the sort and the per-terminal scan, account clusters.  Building the context (policy,
rasterised geofence bands) is reported separately (``setup_seconds``).

Baseline, in the same process: a per-fix Python loop over a subsample of terminals -- for each fix, one policy
decision for the reported position and one for the beam centre, one ``h3.cell_to_latlng``, one SGP4 call and one
frame rotation for the serving satellite, the band look-ups and the scan's pure-Python body (``_scan.py_func``) with
the same per-terminal state -- timed and extrapolated linearly to the whole fleet.  The script checks that the
baseline raises the same per-terminal alerts (kind and time) as the vectorised run on that subsample and fails
otherwise.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report
from skyfence.detection import REPORTED_COLUMNS, Context, detect, loads_fleet_spec, synthesize_fleet
from skyfence.detection import detectors as d
from skyfence.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "examples" / "policies" / "real_world_2026.toml"
SPEC = """
[fleet]
name = "benchmark"
seed = 11
start = 2026-08-22T14:00:00Z
days = 0.0694444            # 100 minutes
step_s = 60
fixed_step_s = 60
[classes.residential]
count = 84000
[classes.roam]
count = 8000
[classes.maritime]
count = 3000
[classes.aviation]
count = 2000
[classes.black_market]
count = 3000
[classes.drone]
count = 2000
[classes.spoofer]
count = 3000
"""
SUB_TERMINALS = 100


def baseline(fixes: pd.DataFrame, ctx: Context) -> tuple[float, pd.DataFrame]:
    """The per-fix Python loop; returns its wall time and its (non-cluster) alerts."""
    import h3.api.numpy_int as h3n

    from skyfence.earth.geodesy import geodetic_to_ecef
    from skyfence.orbits.propagate import teme_to_itrf_matrices
    from skyfence.orbits.time import julian_date_utc

    fx = d._check(fixes, None)
    ids = ctx.constellation.satellites["norad_id"].to_numpy()
    row_of = {int(n): k for k, n in enumerate(ids)}
    satrecs = ctx.constellation.satrecs
    slots: dict[int, int] = {}
    order = d._order(fx, np.unique(fx["terminal_id"], return_inverse=True)[1])
    state = d._new_state(len(np.unique(fx["terminal_id"])))
    th = d._threshold_vector(ctx.th)
    alerts = []
    out = [np.empty(5, dtype=np.int64), np.empty(5, dtype=np.int64), *(np.empty(5) for _ in range(4))]
    t0 = time.perf_counter()
    for i in order.tolist():
        row = {name: values[i] for name, values in fx.items()}
        lat, lon, t_ns = float(row["lat_deg"]), float(row["lon_deg"]), int(row["time"].view(np.int64))
        times = np.array([t_ns])
        hr, country = ctx.places(np.array([lat]), np.array([lon]), times)
        c_lat, c_lon = h3n.cell_to_latlng(int(row["serving_cell"]))
        b_hr, b_country = ctx.places(np.array([c_lat]), np.array([c_lon]), times)
        beam_km = float(d.haversine_km(lat, lon, c_lat, c_lon))
        el = np.nan
        if int(row["serving_sat"]) in row_of:
            jd, fr = julian_date_utc(times.astype("datetime64[ns]"))
            err, r, _ = satrecs[row_of[int(row["serving_sat"])]].sgp4(jd[0], fr[0])
            if err == 0:
                sat = teme_to_itrf_matrices(times.astype("datetime64[ns]"))[0] @ np.asarray(r)
                ground = geodetic_to_ecef(lat, lon, float(np.nan_to_num(row["alt_m"])) / 1000.0).reshape(1, 3)
                el = float(d.serving_elevation_deg(sat[None, :], ground)[0])
        reg = str(row["registered_in"])[:2]
        consistent = not beam_km > ctx.th.beam_tolerance_km
        slot = slots.setdefault(int(row["terminal_id"]), len(slots))
        one = lambda v, dtype=float: np.array([v], dtype=dtype)  # noqa: E731
        m = d._scan.py_func(
            one(slot, np.int64),
            one(t_ns / 1e9),
            one(lat),
            one(lon),
            one(float(np.nan_to_num(row["alt_m"]))),
            one(float(row["speed_kmh"])),
            one(bool(hr[0] and consistent), bool),
            one(bool(hr[0] and consistent and reg != country[0]), bool),
            one(bool(b_hr[0] and reg != b_country[0]), bool),
            one(bool(country[0] != "" and reg != "" and reg != country[0]), bool),
            one(bool(ctx.in_band(np.array([lat]), np.array([lon]))[0]), bool),
            one(beam_km),
            one(el),
            one(False, bool),  # no GNSS jammers in this workload
            state,
            th,
            float(ctx.max_plan_kmh),
            float(ctx.max_days_abroad),
            *out,
        )
        for k in range(m):
            alerts.append((int(row["terminal_id"]), d.KINDS[int(out[1][k])], row["time"]))
    seconds = time.perf_counter() - t0
    frame = pd.DataFrame(alerts, columns=["terminal_id", "kind", "time"])
    return seconds, frame.sort_values(["terminal_id", "kind"]).reset_index(drop=True)


def main() -> None:
    spec = SPEC
    if "--quick" in sys.argv:  # a smoke run of the script: 1/100 of the fleet
        spec = "\n".join(
            f"count = {int(line.split('=')[1]) // 100}" if line.startswith("count") else line
            for line in SPEC.splitlines()
        )
    t0 = time.perf_counter()
    fleet = synthesize_fleet(loads_fleet_spec(spec, source="benchmark"))
    synth_seconds = time.perf_counter() - t0
    fixes = fleet[list(REPORTED_COLUMNS)]
    n, terminals = len(fixes), fixes["terminal_id"].nunique()
    print(f"fleet: {n:,} fixes from {terminals:,} terminals synthesised in {synth_seconds:.0f} s (not timed)")
    del fleet

    t0 = time.perf_counter()
    ctx = Context(load_policy(POLICY), constellation="starlink_omm_20260818")
    ctx.constellation  # noqa: B018 - load the elements once, outside the timing
    setup_seconds = time.perf_counter() - t0
    detect(fixes.iloc[:2000], ctx)  # compile and warm

    best, best_cpu, alerts = float("inf"), float("inf"), None
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        alerts = detect(fixes, ctx)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert alerts is not None
    rate = n / best
    print(
        f"detect: {n:,} fixes in {best:.2f} s = {rate:,.0f} fixes/s ({best_cpu:.2f} s of CPU); alerts "
        f"{alerts['kind'].value_counts().to_dict()}"
    )

    chosen = np.random.default_rng(3).choice(np.unique(fixes["terminal_id"]), SUB_TERMINALS, replace=False)
    sub = fixes[fixes["terminal_id"].isin(chosen)].reset_index(drop=True)
    c0 = time.process_time()
    base_sub, base_alerts = baseline(sub, ctx)
    base_cpu = (time.process_time() - c0) * n / len(sub)
    baseline_seconds = base_sub * n / len(sub)
    mine = detect(sub, ctx)
    mine = mine[~mine["evidence"].str.contains("account_cluster")][["terminal_id", "kind", "time"]]
    mine = mine.sort_values(["terminal_id", "kind"]).reset_index(drop=True)
    same = mine.astype({"kind": object}).equals(base_alerts.astype({"kind": object}))
    print(
        f"per-fix Python baseline: {len(sub):,} fixes of {SUB_TERMINALS} terminals in {base_sub:.1f} s -> "
        f"{baseline_seconds:,.0f} s for {n:,}; same alerts: {same} ({len(mine)} vs {len(base_alerts)})"
    )
    report(
        {
            "workload": f"{n:,} fixes from {terminals:,} terminals (100 min at 60 s) through all detectors, "
            "real_world_2026 policy, Starlink 2026-08-18, one core",
            "seconds": round(best, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": f"per-fix Python loop (policy, h3, SGP4, rotation, scan body per fix) on {len(sub):,} fixes "
            f"of {SUB_TERMINALS} terminals, extrapolated",
            "baseline_seconds": round(baseline_seconds, 1),
            "speedup": round(baseline_seconds / best, 1),
            "fixes_per_s": round(rate),
            "cpu_seconds": round(best_cpu, 2),
            "fixes_per_cpu_s": round(n / best_cpu),
            "baseline_cpu_seconds": round(base_cpu, 1),
            "setup_seconds": round(setup_seconds, 2),
            "identical_to_baseline": bool(same),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )
    if not same:
        sys.exit("the per-fix baseline raised different alerts")


if __name__ == "__main__":
    main()
