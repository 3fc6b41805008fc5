"""Benchmark: what the process-wide GEOS lock (skyfence.earth.shared) costs ingestion's policy decisions.

Workload: the service's ingestion decisions -- ``examples/policies/control_plane_demo.toml`` (the policy
``service_ingest.py`` activates), 200 batches of 1,000 fixes around Taiwan, Ukraine and Poland (100 terminals,
every column the control plane passes), each batch one ``Engine.evaluate`` call as
:meth:`skyfence.service.decisions.Evaluator.evaluate` makes it (below 20,000 fixes the engine locates every fix
with an STR-tree query and a prepared ``shapely.intersects_xy`` per candidate part: the path the lock guards, held
once per part a batch touches).  ``seconds`` is the best of seven passes over the 200 batches with the lock, in
this thread's CPU time (``time.thread_time``: the machine is shared, and waiting for a core is not the lock's
cost); wall times are printed beside.

Baseline, in the same process: the same passes with the engine's lock replaced by a no-op (safe here: one thread),
interleaved with ours.  Both give identical decisions (checked).

Contended: the same passes while a second thread does country lookups (what ``lookup_country`` does for 10,000
points in Europe: one prepared ``intersects_xy`` per candidate country, in a loop) -- as the dashboard's map
warm-up or a ground-site lookup does beside ingestion.  With the lock both threads take ``GEOS_LOCK`` per call on
the process's shared layer; without it (the baseline) the second thread works on a private copy of the layer
(safe: nothing is shared) and neither takes a lock.  Reported: the deciding thread's CPU time and its per-batch
wall p50/p99.  Needs SKYFENCE_DATA_DIR.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import contextlib
import sys
import threading
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb, report
from skyfence.earth import regions
from skyfence.policy import engine as engine_module
from skyfence.policy import loads_policy

POLICY = Path(__file__).resolve().parents[1] / "examples" / "policies" / "control_plane_demo.toml"
PLACES = {"TW": (23.7, 121.0, 1.2), "UA": (49.0, 31.0, 2.5), "PL": (52.0, 19.0, 2.0)}
BATCHES, BATCH, PASSES = 200, 1000, 7


def batches(seed: int = 2026) -> list[dict]:
    rng = np.random.default_rng(seed)
    codes = list(PLACES)
    home = rng.integers(0, len(codes), 100)
    out = []
    for b in range(BATCHES):
        terminal = rng.integers(0, 100, BATCH)
        centre = np.array([PLACES[codes[h]] for h in home[terminal]])
        out.append(
            {
                "lat": centre[:, 0] + rng.normal(0.0, 1.0, BATCH) * centre[:, 2] / 2,
                "lon": centre[:, 1] + rng.normal(0.0, 1.0, BATCH) * centre[:, 2],
                "alt_m": rng.uniform(0.0, 300.0, BATCH),
                "speed_kmh": np.where(rng.random(BATCH) < 0.8, 0.0, rng.uniform(0.0, 900.0, BATCH)),
                "time": np.datetime64("2026-08-18T12:00", "ns") + np.arange(BATCH).astype("timedelta64[s]") + b,
                "terminal": np.array([f"T{t:03d}" for t in terminal], dtype=object),
                "registered_in": np.array([codes[h] for h in home[terminal]], dtype=object),
                "plan": np.array(["residential"] * BATCH, dtype=object),
                "whitelisted": rng.random(BATCH) < 0.3,
            }
        )
    return out


def one_pass(engine, work: list[dict]) -> tuple[float, float, np.ndarray, list]:
    """(CPU seconds of this thread, wall seconds, wall seconds of each batch, decisions) of one pass."""
    times, decisions = [], []
    cpu, start = time.thread_time(), time.perf_counter()
    for columns in work:
        t0 = time.perf_counter()
        decisions.append(engine.evaluate(source="benchmark", **columns).decision)
        times.append(time.perf_counter() - t0)
    return time.thread_time() - cpu, time.perf_counter() - start, np.array(times), decisions


def lookups(layer, lock, lat: np.ndarray, lon: np.ndarray, stop: threading.Event, count: list[int]) -> None:
    """Country lookups of the points in a loop, as ``lookup_country`` does them, until ``stop``."""
    point_index, row_index = layer.tree.query(shapely.points(lon, lat))
    geometries = layer.table["geometry"].to_numpy()
    order = np.argsort(row_index, kind="stable")
    bounds = np.flatnonzero(np.diff(row_index[order])) + 1
    groups = [(int(row_index[g[0]]), point_index[g]) for g in np.split(order, bounds)]
    while not stop.is_set():
        for row, points in groups:
            with lock:
                shapely.intersects_xy(geometries[row], lon[points], lat[points])
        count[0] += 1


def main() -> None:
    policy = loads_policy(POLICY.read_text(), base_dir=POLICY.parent, name=POLICY.name)
    engine = policy.engine()
    work = batches()
    one_pass(engine, work[:5])  # numba kernels, STR-tree, the parts' indexes
    locked = engine_module.GEOS_LOCK
    best = {"lock": float("inf"), "no-op": float("inf")}
    wall = {"lock": float("inf"), "no-op": float("inf")}
    per_batch = {}
    answers = {}
    for _ in range(PASSES):  # interleaved, so drift of the shared machine hits both alike
        for label, lock in (("lock", locked), ("no-op", contextlib.nullcontext())):
            engine_module.GEOS_LOCK = lock  # type: ignore[assignment]
            try:
                seconds, wall_seconds, times, decisions = one_pass(engine, work)
            finally:
                engine_module.GEOS_LOCK = locked  # type: ignore[misc]
            best[label] = min(best[label], seconds)
            if wall_seconds < wall[label]:
                wall[label], per_batch[label] = wall_seconds, times
            answers[label] = decisions
    identical = all(np.array_equal(a, b) for a, b in zip(answers["lock"], answers["no-op"], strict=True))
    for label in best:
        t = per_batch[label] * 1e3
        print(
            f"{label:>6}: {BATCHES} batches in {best[label]:.3f} CPU-s = {BATCHES * BATCH / best[label]:,.0f} fixes/s; "
            f"wall {wall[label]:.3f} s, per batch p50 {np.percentile(t, 50):.2f} ms, p99 {np.percentile(t, 99):.2f} ms"
        )
    cost_us = (best["lock"] - best["no-op"]) / BATCHES * 1e6
    print(f"lock cost {cost_us:+.1f} CPU-µs a batch (best of {PASSES} passes each); identical decisions: {identical}")

    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(35.0, 60.0, 10_000), rng.uniform(10.0, 45.0, 10_000)
    shared_layer = regions._country_layer("default", None)
    private_layer = regions._layer.__wrapped__(shared_layer.dataset, shared_layer.pov)  # its own geometries
    contended = {}
    for _ in range(2):
        for label, layer, lock in (
            ("lock", shared_layer, locked),
            ("no-op", private_layer, contextlib.nullcontext()),
        ):
            engine_module.GEOS_LOCK = lock  # type: ignore[assignment]
            stop = threading.Event()
            count = [0]
            background = threading.Thread(target=lookups, args=(layer, lock, lat, lon, stop, count), name="lookups")
            background.start()
            try:
                cpu, seconds, times, _ = one_pass(engine, work)
            finally:
                stop.set()
                background.join()
                engine_module.GEOS_LOCK = locked  # type: ignore[misc]
            if label not in contended or cpu < contended[label][0]:
                contended[label] = (cpu, seconds, times, count[0])
    for label, (cpu, seconds, times, count) in contended.items():
        t = times * 1e3
        print(
            f"contended, {label:>5}: {cpu:.3f} CPU-s, wall {seconds:.3f} s, per batch "
            f"p50 {np.percentile(t, 50):.2f} ms, p99 {np.percentile(t, 99):.2f} ms ({count} lookups beside)"
        )
    if not identical:
        sys.exit("decisions differ with and without the lock")
    report(
        {
            "workload": f"control_plane_demo policy, {BATCHES} batches x {BATCH:,} fixes (TW/UA/PL), one thread",
            "seconds": round(best["lock"], 4),
            "seconds_are": "CPU seconds of the deciding thread (shared machine)",
            "wall_seconds": round(wall["lock"], 4),
            "baseline_wall_seconds": round(wall["no-op"], 4),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline": "the same batches with the engine's GEOS lock a no-op, same process",
            "baseline_seconds": round(best["no-op"], 4),
            "speedup": round(best["no-op"] / best["lock"], 4),
            "lock_cost_us_per_batch": round(cost_us, 1),
            "fixes_per_s": round(BATCHES * BATCH / best["lock"]),
            "p99_ms": round(float(np.percentile(per_batch["lock"], 99) * 1e3), 2),
            "contended_cpu_seconds": round(contended["lock"][0], 4),
            "contended_baseline_cpu_seconds": round(contended["no-op"][0], 4),
            "contended_p50_ms": round(float(np.percentile(contended["lock"][2], 50) * 1e3), 2),
            "contended_p99_ms": round(float(np.percentile(contended["lock"][2], 99) * 1e3), 2),
            "contended_baseline_p50_ms": round(float(np.percentile(contended["no-op"][2], 50) * 1e3), 2),
            "contended_baseline_p99_ms": round(float(np.percentile(contended["no-op"][2], 99) * 1e3), 2),
            "load_average": os.getloadavg()[0],
            "identical_decisions": identical,
            "cpu_seconds": round(time.process_time(), 1),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
    )


if __name__ == "__main__":
    main()
