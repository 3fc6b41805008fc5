"""Benchmark: 40 Monte Carlo points of the Taiwan attrition sweep on Dask, 1 worker against 2 workers, and Dask's
per-point overhead against a plain serial loop with the same cores.

The points: ``examples/sweeps/taiwan_attrition.toml`` with loss fractions 0.05 ... 0.50 (10 values) x 4 seeds;
each point is one cached scenario run (:func:`skyfence.sweep.execute.run_point`) computing one threat unit (the
real Starlink catalog of 2026-08-18 over Taiwan at res 5, 1 h at 120 s: coverage after the loss, reachability and
latency from Taipei over 10 min, capacity after the loss).  The units every point shares (coverage, latency and
capacity without losses) are computed once beforehand into a warm cache, and each configuration starts from a
fresh copy of it, so every configuration computes exactly the same 40 units.

Cores: a Dask worker here has one thread and each point on it a budget of one core (one numba thread, one BLAS
thread, no overlap thread: :func:`skyfence._threads.thread_budget`, docs/sweeps.md), so "1 worker" is one core
and "2 workers" two.  The plain loop that measures Dask's overhead runs the same points with the same one-core
budget in this process.  The loop with every core (numba's and BLAS's threads and the SGP4 overlap thread: what
``skyfence sweep --serial`` does) is timed too, for what a plain loop on this machine gets at best; it is not
the like-for-like baseline (earlier runs of this benchmark compared Dask against it, and against workers that
had not been warmed).

Every process is warm before the clock starts: this one computed the warm cache, and each worker computes one
point outside the 40 (imports, numba's cached machine code, the catalog).  Cluster start-up is reported, not timed.

* baseline: the sweep on a ``LocalCluster`` of 1 worker process (:func:`skyfence.sweep.execute.local_cluster`, as
  ``skyfence sweep --workers 1`` makes it: one thread, glibc's malloc left at its defaults as in a serial run);
* ours: the sweep on a ``LocalCluster`` of 2 worker processes (``--workers 2``).

Speed-up = 1-worker time / 2-worker time (target >= 1.7 on 2 cores); overhead = (1-worker time - loop time) /
loop time, the loop with the same one-core budget (target <= 5 %), in wall and in CPU time (this process and
the workers): the machine may be shared.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import copy
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
#: Cores per point on a worker and in the like-for-like loop (one worker thread = one core).
THREADS_PER_POINT = 1


def _process_cpu_s() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _machine_busy_s() -> float:
    """CPU seconds every process of the machine has used so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _others(busy0: float, cpu: float, wall: float) -> float:
    """Cores the rest of the machine used meanwhile: the machine's busy CPU less ours, over the wall time."""
    return max(0.0, (_machine_busy_s() - busy0 - cpu) / wall)


def _warm_worker(scenario: dict, base: str, warm: str, threads: int) -> float:
    """In a worker: compute one point outside the 40 (its own threat unit) in a scratch copy of the warm cache."""
    from skyfence.sweep.execute import run_point

    scratch = Path(tempfile.mkdtemp(prefix="sweep-bench-worker-"))
    try:
        shutil.copytree(warm, scratch / "cache")
        started = time.perf_counter()
        result = run_point(-2, scenario, base, str(scratch / "cache"), threads=threads)
        assert result.cache_misses == 1, result
        return time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    import pandas as pd
    from distributed import Client

    from skyfence.sweep.execute import SweepRun, local_cluster, run_point, run_sweep
    from skyfence.sweep.results import results_table
    from skyfence.sweep.spec import load_sweep

    load_start = os.getloadavg()[0]
    sweep = load_sweep(SWEEP, repetitions=REPETITIONS)
    axis = sweep.axes[0]
    sweep.axes[0] = replace(axis, values=axis.values[1:])  # 0.05 ... 0.50: 10 fractions x 4 seeds = 40 points
    points = list(sweep.points())
    assert len(points) == 40, len(points)
    warm_point = next(iter(load_sweep(SWEEP, repetitions=1).points()))  # fraction 0, seed of the base: not one of 40
    # a worker's warm-up point: loss 0.55 and a seed outside the 40, so it computes a threat unit of its own
    warm_up = copy.deepcopy(points[-1].scenario)
    warm_up["variants"][0]["threats"][0].update(fraction=0.55, seed=999)
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

    others: dict[str, float] = {}

    def serial_loop(threads: int | None) -> tuple[float, float, pd.DataFrame]:
        cache = fresh(f"serial-{threads}")
        busy0, c0, t0 = _machine_busy_s(), time.process_time(), time.perf_counter()
        rows = {p.index: run_point(p.index, p.scenario, base, str(cache), threads=threads) for p in points}
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        name = "serial_loop" if threads is not None else "serial_loop_every_core"
        others[name] = round(_others(busy0, cpu, wall), 2)
        computed = sum(r.cache_misses for r in rows.values())
        budget = "every core" if threads is None else f"{threads} core(s) per point"
        print(
            f"serial loop, {budget}: {wall:.1f} s wall, {cpu:.1f} s CPU, {computed} units computed, "
            f"{sum(r.seconds for r in rows.values()) / len(rows):.2f} s a point; other "
            f"processes used {others[name]:.2f} cores meanwhile"
        )
        return wall, cpu, results_table(sweep, SweepRun(results=rows))

    def on_cluster(workers: int) -> tuple[float, float, float, pd.DataFrame]:
        cache = fresh(f"dask{workers}")
        t_start = time.perf_counter()
        with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
            warmed = client.run(_warm_worker, warm_up, base, str(warm), THREADS_PER_POINT)
            startup = time.perf_counter() - t_start
            workers0, client0 = sum(client.run(_process_cpu_s).values()), time.process_time()
            busy0, t1 = _machine_busy_s(), time.perf_counter()
            run = run_sweep(sweep, client=client, cache_root=cache, threads=THREADS_PER_POINT)
            wall = time.perf_counter() - t1
            client_cpu = time.process_time() - client0  # this process: the client, the scheduler and the nannies
            cpu = sum(client.run(_process_cpu_s).values()) - workers0 + client_cpu
            others[f"dask_{workers}"] = round(_others(busy0, cpu, wall), 2)
        print(
            f"dask {workers} worker(s): {wall:.1f} s wall, {cpu:.1f} s CPU (workers + {client_cpu:.1f} s in this "
            "process: client, scheduler, nannies), "
            f"{run.cache_misses} units computed, {sum(r.seconds for r in run.results.values()) / len(run.results):.2f} "
            f"s a point; start-up {startup:.1f} s with a warm-up point of "
            f"{', '.join(f'{s:.1f}' for s in warmed.values())} s per worker (not timed); other processes used "
            f"{others[f'dask_{workers}']:.2f} cores meanwhile"
        )
        return wall, cpu, client_cpu, results_table(sweep, run)

    serial_s, serial_cpu, serial_table = serial_loop(THREADS_PER_POINT)
    one_s, one_cpu, one_client_cpu, one_table = on_cluster(1)
    two_s, two_cpu, two_client_cpu, two_table = on_cluster(2)
    all_s, all_cpu, all_table = serial_loop(None)
    for table in (one_table, two_table, all_table):
        pd.testing.assert_frame_equal(table, serial_table, check_exact=True)
    print("tables: loop (1 core) = loop (every core) = 1 worker = 2 workers (exact)")
    shutil.rmtree(work, ignore_errors=True)

    speedup = one_s / two_s
    overhead_pct = 100.0 * (one_s - serial_s) / serial_s
    overhead_cpu_pct = 100.0 * (one_cpu - serial_cpu) / serial_cpu
    per_point_overhead_ms = 1000.0 * (one_s - serial_s) / len(points)
    load_end = os.getloadavg()[0]
    print(
        f"speed-up 2 vs 1 worker: {speedup:.2f}x (target >= {TARGET_SPEEDUP}); Dask (1 worker) over the loop with "
        f"the same core: {overhead_pct:+.1f} % wall ({per_point_overhead_ms:+.0f} ms/point), {overhead_cpu_pct:+.1f} "
        f"% CPU (target <= {TARGET_OVERHEAD_PCT} %); 2 workers against the loop with every core: "
        f"{all_s / two_s:.2f}x; load average {load_start:.1f} at the start, {load_end:.1f} at the end, "
        f"on {os.cpu_count()} cores"
    )
    report(
        {
            "workload": f"{len(points)} Monte Carlo points of examples/sweeps/taiwan_attrition.toml (10 loss "
            f"fractions 0.05-0.50 x {REPETITIONS} seeds; Starlink 2026-08-18 over Taiwan res 5, 1 h @ 120 s, "
            "one threat unit per point: coverage, reachability and capacity after the loss) on a Dask "
            "LocalCluster of 2 worker processes, one core per point",
            "seconds": round(two_s, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "the same sweep on a LocalCluster of 1 worker process, one core per point",
            "baseline_seconds": round(one_s, 2),
            "speedup": round(speedup, 2),
            "serial_loop_seconds": round(serial_s, 2),
            "dask_overhead_pct": round(overhead_pct, 2),
            "dask_overhead_cpu_pct": round(overhead_cpu_pct, 2),
            "dask_overhead_ms_per_point": round(per_point_overhead_ms, 1),
            "serial_loop_every_core_seconds": round(all_s, 2),
            "speedup_vs_loop_every_core": round(all_s / two_s, 2),
            "points_per_s": round(len(points) / two_s, 3),
            "threads_per_point": THREADS_PER_POINT,
            "cpu_seconds": {
                "serial_loop": round(serial_cpu, 1),
                "dask_1": round(one_cpu, 1),
                "dask_2": round(two_cpu, 1),
                "dask_1_client_scheduler_nannies": round(one_client_cpu, 1),
                "dask_2_client_scheduler_nannies": round(two_client_cpu, 1),
                "serial_loop_every_core": round(all_cpu, 1),
            },
            "other_processes_cores": others,
            "load_average": [round(load_start, 1), round(load_end, 1)],
            "target_speedup": TARGET_SPEEDUP,
            "target_overhead_pct": TARGET_OVERHEAD_PCT,
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
