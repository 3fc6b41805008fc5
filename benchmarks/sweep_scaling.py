"""Benchmark: 40 Monte Carlo points of the Taiwan attrition sweep on Dask, 1 worker against 2 workers, and Dask's
per-point overhead against a plain serial loop.

The points: ``examples/sweeps/taiwan_attrition.toml`` with loss fractions 0.05 ... 0.50 (10 values) x 4 seeds;
each point is one cached scenario run (:func:`skyfence.sweep.execute.run_point`) computing one threat unit (the
real Starlink catalog of 2026-08-18 over Taiwan at res 5, 1 h at 120 s: coverage after the loss, reachability and
latency from Taipei over 10 min, capacity after the loss).  The units every point shares (coverage, latency and
capacity without losses) are computed once beforehand into a warm cache, and each configuration starts from a
fresh copy of it, so every configuration computes exactly the same 40 units.  Workers are warmed (imports, numba,
the catalog) with one point outside the 40 before the clock starts; cluster start-up is reported but not timed.

* baseline: the same 40 points in a plain ``for`` loop in this process (no Dask);
* ours: ``run_sweep`` on a ``LocalCluster`` of 1 worker process, then of 2 worker processes.

Speed-up = 1-worker time / 2-worker time (target >= 1.7 on 2 cores); overhead = (1-worker time - serial time) /
serial time (target <= 5 %).  CPU time (this process and the workers) is reported beside wall time, since the
machine may be shared.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "examples" / "sweeps" / "taiwan_attrition.toml"
REPETITIONS = 4
TARGET_SPEEDUP = 1.7
TARGET_OVERHEAD_PCT = 5.0


def _worker_cpu_s() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def main() -> None:
    import pandas as pd
    from distributed import Client, LocalCluster

    from skyfence.sweep.execute import run_point, run_sweep
    from skyfence.sweep.results import results_table
    from skyfence.sweep.spec import load_sweep

    sweep = load_sweep(SWEEP, repetitions=REPETITIONS)
    axis = sweep.axes[0]
    sweep.axes[0] = replace(axis, values=axis.values[1:])  # 0.05 ... 0.50: 10 fractions x 4 seeds = 40 points
    points = list(sweep.points())
    assert len(points) == 40, len(points)
    warm_point = next(iter(load_sweep(SWEEP, repetitions=1).points()))  # fraction 0, seed of the base: not one of 40
    base = str(sweep.base_dir)
    work = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    warm = work / "warm"
    t0 = time.perf_counter()
    run_point(-1, warm_point.scenario, base, str(warm))
    print(f"warm cache (shared coverage and latency units, and this process): {time.perf_counter() - t0:.1f} s")

    def fresh(name: str) -> Path:
        target = work / name
        shutil.copytree(warm, target)
        # the warm point's own threat/capacity units and record stay; the 40 points have other keys
        return target

    # ------------------------------------------------------------------ baseline: plain serial loop
    cache = fresh("serial")
    c0, t0 = time.process_time(), time.perf_counter()
    serial_rows = {p.index: run_point(p.index, p.scenario, base, str(cache)) for p in points}
    serial_s, serial_cpu = time.perf_counter() - t0, time.process_time() - c0
    computed = sum(r.cache_misses for r in serial_rows.values())
    print(f"serial loop: {serial_s:.1f} s wall, {serial_cpu:.1f} s CPU, {computed} units computed")

    def on_cluster(workers: int) -> tuple[float, float, pd.DataFrame]:
        cache = fresh(f"dask{workers}")
        t_start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            client.run(run_point, -1, warm_point.scenario, base, str(warm))  # imports, numba, catalog: every worker
            startup = time.perf_counter() - t_start
            cpu0 = sum(client.run(_worker_cpu_s).values()) + time.process_time()
            t1 = time.perf_counter()
            run = run_sweep(sweep, client=client, cache_root=cache)
            wall = time.perf_counter() - t1
            cpu = sum(client.run(_worker_cpu_s).values()) + time.process_time() - cpu0
        print(
            f"dask {workers} worker(s): {wall:.1f} s wall, {cpu:.1f} s CPU (workers + client), "
            f"{run.cache_misses} units computed; start-up and warm-up {startup:.1f} s (not timed)"
        )
        return wall, cpu, results_table(sweep, run)

    one_s, one_cpu, one_table = on_cluster(1)
    two_s, two_cpu, two_table = on_cluster(2)
    serial_table = results_table(sweep, _as_run(serial_rows))
    pd.testing.assert_frame_equal(one_table, serial_table, check_exact=True)
    pd.testing.assert_frame_equal(two_table, serial_table, check_exact=True)
    print("tables: serial = 1 worker = 2 workers (exact)")
    shutil.rmtree(work, ignore_errors=True)

    speedup = one_s / two_s
    overhead_pct = 100.0 * (one_s - serial_s) / serial_s
    per_point_overhead_ms = 1000.0 * (one_s - serial_s) / len(points)
    load = os.getloadavg()[0]
    print(
        f"speed-up 2 vs 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}); Dask overhead vs serial loop: "
        f"{overhead_pct:+.1f} % ({per_point_overhead_ms:+.0f} ms/point; target <= {TARGET_OVERHEAD_PCT} %); "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    report(
        {
            "workload": f"{len(points)} Monte Carlo points of examples/sweeps/taiwan_attrition.toml (10 loss "
            f"fractions 0.05-0.50 x {REPETITIONS} seeds; Starlink 2026-08-18 over Taiwan res 5, 1 h @ 120 s, "
            "one threat unit per point: coverage, reachability and capacity after the loss) on a Dask "
            "LocalCluster of 2 worker processes",
            "seconds": round(two_s, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "the same sweep on a LocalCluster of 1 worker process",
            "baseline_seconds": round(one_s, 2),
            "speedup": round(speedup, 2),
            "serial_loop_seconds": round(serial_s, 2),
            "dask_overhead_pct": round(overhead_pct, 2),
            "dask_overhead_ms_per_point": round(per_point_overhead_ms, 1),
            "points_per_s": round(len(points) / two_s, 3),
            "cpu_seconds": {"serial": round(serial_cpu, 1), "dask_1": round(one_cpu, 1), "dask_2": round(two_cpu, 1)},
            "load_average": round(load, 1),
            "target_speedup": TARGET_SPEEDUP,
            "target_overhead_pct": TARGET_OVERHEAD_PCT,
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


def _as_run(rows):
    from skyfence.sweep.execute import SweepRun

    return SweepRun(results=dict(rows))


if __name__ == "__main__":
    main()
