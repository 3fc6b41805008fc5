"""Run the points of a sweep: serially in this process, or on ``dask.distributed``.

Each point is one task: :func:`run_point` runs its scenario with :func:`skyfence.scenario.runner.run_scenario`,
whose units are content-addressed in the cache (``<cache>/results/<key>/``), so a point already done -- by an
interrupted run of the same sweep, by another sweep or by ``skyfence assess`` -- is read, not recomputed.  The
runner's cache counters come back with every point; nothing else is shared between tasks, so the results do not
depend on where or in which order they ran.

On Dask: a :class:`~distributed.LocalCluster` of worker *processes* (one thread each, as many as the cores)
unless a scheduler address is given; tasks are submitted with ``retries`` so a point whose worker dies is run
again elsewhere (Dask also reschedules the tasks a dead worker held), and at most a few tasks per worker are in
flight at once, so a sweep of a million points never holds a million scenario documents in memory.

Cores: on Dask a point runs with a budget of one core (:func:`skyfence._threads.thread_budget`: one numba
thread, one BLAS thread, no overlap thread), since each worker thread is one core -- Dask's own convention, which
sets ``OMP_NUM_THREADS=1`` in its workers -- so N workers on N cores run N threads, not N x N.  Serially, a point
uses every core of this process.  Either way the numbers are the same (docs/sweeps.md, "Cores and threads").
Each worker is set up once, before its first point (:class:`WorkerSetup`): it imports the modules a point runs
and reads the base scenario's element catalogs into its memory, where every later point finds them.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyfence.errors import InputError
from skyfence.sweep.spec import Point, Sweep

__all__ = ["PointResult", "SweepRun", "connect", "run_point", "run_sweep"]

#: Version of the columns :func:`skyfence.sweep.metrics.metrics_of` writes; part of every point's key.
METRICS_LAYOUT = 1
#: Seconds to wait for a scheduler before saying it is unreachable.
CONNECT_TIMEOUT_S = 5.0
#: Tasks a worker may have queued: enough to keep it busy, few enough to bound the client's memory.
IN_FLIGHT_PER_WORKER = 4
#: Cores one point may use on a Dask worker (one per worker thread; see the module docstring).
DASK_THREADS_PER_POINT = 1


@dataclass(frozen=True)
class PointResult:
    """One point's numbers, and what the runner's cache did for it (units read, units computed)."""

    index: int
    metrics: dict[str, float | None]
    cache_hits: int
    cache_misses: int
    seconds: float
    worker: str = ""
    #: Registry datasets the point's run read (the sweep report lists their sources and licences).
    datasets: tuple[str, ...] = ()


@dataclass
class SweepRun:
    """Every point's result (by point number), the cache counters summed, where it ran, and how long it took."""

    results: dict[int, PointResult] = field(default_factory=dict)
    mode: str = "serial"
    workers: int = 1
    dashboard: str | None = None
    seconds: float = 0.0

    @property
    def cache_hits(self) -> int:
        return sum(r.cache_hits for r in self.results.values())

    @property
    def cache_misses(self) -> int:
        return sum(r.cache_misses for r in self.results.values())

    @property
    def points_computed(self) -> int:
        """Points that computed at least one unit (the rest came whole from the cache)."""
        return sum(1 for r in self.results.values() if r.cache_misses)


def run_point(
    index: int,
    scenario: dict[str, Any],
    base_dir: str,
    cache_root: str | None,
    source: str = "sweep",
    threads: int | None = None,
) -> PointResult:
    """Run one point's scenario (a raw scenario document; relative paths start at ``base_dir``).

    The point's numbers are cached under the key of its units (:func:`point_key`): when every unit is done and
    the numbers were read once, the point costs planning only; otherwise the runner takes each unit from the
    cache or computes it (its counters are the point's ``cache_hits`` / ``cache_misses``).  ``threads`` caps
    the cores its kernels use (:func:`skyfence._threads.thread_budget`; None: all); the numbers do not depend
    on it."""
    from skyfence._threads import thread_budget

    with thread_budget(threads):
        return _run_point(index, scenario, base_dir, cache_root, source)


def _run_point(index: int, scenario: dict[str, Any], base_dir: str, cache_root: str | None, source: str):
    from skyfence import data
    from skyfence._io import atomic_outputs
    from skyfence.errors import DataWarning
    from skyfence.scenario.runner import plan, run_scenario
    from skyfence.scenario.schema import scenario_from_dict
    from skyfence.scenario.units import Context
    from skyfence.sweep.metrics import metrics_of

    started = time.perf_counter()
    parsed = scenario_from_dict(scenario, source=f"{source} point {index}")
    root = Path(cache_root) if cache_root is not None else data.cache_dir() / "results"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the same for every point: the base was checked before
        ctx = Context(parsed, Path(base_dir))
        units = plan(ctx.scenario, Path(base_dir), ctx).units
        key = point_key([u.key for u in units])
        record = root / key / "result.json"
        cached = json.loads(record.read_text()) if record.is_file() else None
        if cached is not None and "datasets" in cached:  # every unit is done and its numbers were read once already
            seconds = round(time.perf_counter() - started, 3)
            return PointResult(index, cached["metrics"], len(units), 0, seconds, _worker(), tuple(cached["datasets"]))
        result = run_scenario(parsed, Path(base_dir), cache_root=root)
    metrics = metrics_of(result.summary)
    datasets = tuple(d.name for d in result.summary.datasets)
    with atomic_outputs(root / key) as staging:
        (staging / "result.json").write_text(
            json.dumps(
                {
                    "kind": "sweep_point",
                    "units": sorted(u.key for u in units),
                    "metrics": metrics,
                    "datasets": list(datasets),
                }
            )
        )
    return PointResult(
        index,
        metrics,
        result.cache_hits,
        result.cache_misses,
        round(time.perf_counter() - started, 3),
        _worker(),
        datasets,
    )


def point_key(unit_keys: list[str]) -> str:
    """The cache key of a point's numbers: the sha256 of its units' keys (each already the sha256 of everything
    the unit depends on, and of the skyfence version) and of the layout of :func:`metrics_of`."""
    payload = json.dumps({"sweep_point": METRICS_LAYOUT, "units": sorted(unit_keys)})
    return hashlib.sha256(payload.encode()).hexdigest()


def _worker() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def connect(scheduler: str, timeout_s: float = CONNECT_TIMEOUT_S):
    """A :class:`distributed.Client` of the scheduler at ``scheduler``; one clear line if it cannot be reached."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout_s:.0f} s ({text[:120]})",
            field="--scheduler",
            hint="start one with `dask scheduler` and `dask worker ADDRESS`, or leave out --scheduler to run on "
            "a local cluster",
        ) from None


#: Environment variables Dask sets in a worker process before it starts that a sweep's worker goes without:
#: ``MALLOC_TRIM_THRESHOLD_`` (64 KiB by default) makes glibc hand freed memory back at once, and setting it at
#: all turns off glibc's adaptive mmap threshold, so every numpy temporary over 128 KiB is a fresh mmap, page
#: faults and zeroing included: a third more system time per point (docs/sweeps.md, "Cores and threads").
WORKER_ENV_DROPPED = ("MALLOC_TRIM_THRESHOLD_",)


def worker_environment() -> dict[str, Any]:
    """Dask's ``distributed.nanny.pre-spawn-environ`` for a sweep's local workers: Dask's own (one OpenMP, MKL and
    OpenBLAS thread) without :data:`WORKER_ENV_DROPPED`, so a worker allocates memory as a serial run does."""
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    return {k: v for k, v in env.items() if k not in WORKER_ENV_DROPPED}


#: How often a local worker samples its running task for the dashboard's profile: Dask's 10 ms holds the task's
#: GIL 100 times a second; a point runs about a second, so 100 ms still gives ten samples a point.
WORKER_PROFILE_INTERVAL = "100ms"


def local_cluster(workers: int | None = None):
    """A :class:`distributed.LocalCluster` of ``workers`` processes (default: the cores), one thread each, its
    dashboard on a free local port, the workers' environment :func:`worker_environment`, their profiler sampling
    every :data:`WORKER_PROFILE_INTERVAL`."""
    import logging

    import dask
    from distributed import LocalCluster

    n = workers or os.cpu_count() or 1
    # a whole copy of the configuration: a nanny keeps it, and gives it again to a worker it restarts
    profile = {"distributed": {"worker": {"profile": {"interval": WORKER_PROFILE_INTERVAL}}}}
    worker_config = dask.config.merge(copy.deepcopy(dask.config.config), profile)
    # the nannies read it when they are made, and use it again for a worker they restart
    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environment()}):
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
            silence_logs=logging.ERROR,
            config=worker_config,
        )


def _dashboard(client) -> str | None:
    try:
        return str(client.dashboard_link)
    except Exception:  # no dashboard (bokeh missing): the run goes on without a link
        return None


@contextlib.contextmanager
def cluster_client(*, client=None, scheduler: str | None = None, workers: int | None = None, run: SweepRun):
    """The Dask client to run on: ``client`` as given, one connected to ``scheduler``, or one of a new local
    cluster of ``workers`` processes (closed on exit).  Fills ``run.mode``, ``run.workers``, ``run.dashboard``."""
    own_cluster = None
    if client is not None:
        run.mode = f"dask scheduler {client.scheduler.address}"
        own_client = False
    elif scheduler is not None:
        client = connect(scheduler)
        run.mode = f"dask scheduler {scheduler}"
        own_client = True
    else:
        from distributed import Client

        own_cluster = local_cluster(workers)
        client = Client(own_cluster, set_as_default=False)
        run.mode = "dask local cluster"
        own_client = True
    try:
        run.workers = len(client.scheduler_info().get("workers", {})) or 1
        run.dashboard = _dashboard(client)
        yield client
    finally:
        if own_client:
            client.close()
        if own_cluster is not None:
            own_cluster.close()


def run_sweep(
    sweep: Sweep,
    *,
    serial: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    cache_root: Path | None = None,
    retries: int = 3,
    threads: int | None = None,
    on_start: Callable[[SweepRun], None] | None = None,
    on_point: Callable[[PointResult, SweepRun], None] | None = None,
) -> SweepRun:
    """Run every point of ``sweep``; returns the results by point number.

    ``serial`` runs them one after the other in this process (no Dask); otherwise on ``client`` if given, on the
    scheduler at ``scheduler``, or on a new local cluster of ``workers`` processes (closed at the end).
    ``threads``: cores per point (default: all of this process serially, :data:`DASK_THREADS_PER_POINT` on Dask).
    ``on_start`` is called once the cluster is up (the dashboard link is known), ``on_point`` after each point.
    """
    started = time.perf_counter()
    root = None if cache_root is None else str(cache_root)
    base = str(sweep.base_dir)
    run = SweepRun()
    points = sweep.points()
    if serial:
        if on_start:
            on_start(run)
        for point in points:
            result = run_point(point.index, point.scenario, base, root, sweep.source, threads)
            run.results[point.index] = result
            if on_point:
                on_point(result, run)
        run.seconds = time.perf_counter() - started
        return run

    per_point = DASK_THREADS_PER_POINT if threads is None else threads
    with cluster_client(client=client, scheduler=scheduler, workers=workers, run=run) as dask_client:
        head = list(itertools.islice(points, 1))
        if head:
            _set_up_workers(dask_client, head[0], base)
        if on_start:
            on_start(run)
        queue = itertools.chain(head, points)
        _submit_all(dask_client, queue, base, root, sweep.source, retries, per_point, run, on_point)
    run.seconds = time.perf_counter() - started
    return run


def _set_up_workers(client, first: Point, base: str) -> None:
    """Register :class:`~skyfence.sweep.workers.WorkerSetup` with the first point's scenario: every worker, and
    every worker that joins later, imports and reads its inputs once before it runs a point."""
    from skyfence.sweep.workers import WorkerSetup

    client.register_plugin(WorkerSetup(first.scenario, base))


def _submit_all(
    client,
    points: Iterator[Point],
    base: str,
    root: str | None,
    source: str,
    retries: int,
    threads: int,
    run: SweepRun,
    on_point: Callable[[PointResult, SweepRun], None] | None,
) -> None:
    from distributed import as_completed

    limit = max(run.workers, 1) * IN_FLIGHT_PER_WORKER

    def submit(point: Point):
        return client.submit(
            run_point,
            point.index,
            point.scenario,
            base,
            root,
            source,
            threads,
            key=f"skyfence-sweep-point-{point.index}-{os.getpid()}-{id(run)}",
            pure=False,
            retries=retries,
        )

    head = list(itertools.islice(points, 2))
    points = itertools.chain(head, points)
    if len(head) == 2 and _shares_uncached_units(head, base, root):
        # Units every point shares (the base constellation's coverage) are computed once, by the first point
        # alone, rather than by every worker of the first wave at the same time.
        point = next(points)
        result = submit(point).result()
        run.results[result.index] = result
        if on_point:
            on_point(result, run)
    first = [submit(p) for _, p in zip(range(limit), points, strict=False)]
    with client.as_current():  # as_completed looks for the current client; ours is not the process default
        queue = as_completed(first)
    for future in queue:
        result = future.result()  # a point that failed on every retry raises here, with its own error
        run.results[result.index] = result
        future.release()
        if on_point:
            on_point(result, run)
        following = next(points, None)
        if following is not None:
            queue.add(submit(following))


def _shares_uncached_units(points: list[Point], base: str, root: str | None) -> bool:
    """True when the two points share a unit that is not in the cache yet (planned here, nothing computed); also
    when this process cannot plan them (e.g. a remote cluster's data is not here): then run the first one alone."""
    from skyfence import data
    from skyfence.scenario.runner import plan
    from skyfence.scenario.schema import scenario_from_dict
    from skyfence.scenario.units import Context

    try:
        keys = []
        for point in points:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ctx = Context(scenario_from_dict(point.scenario, source="sweep"), Path(base))
                keys.append({u.key for u in plan(ctx.scenario, Path(base), ctx).units})
    except Exception:  # planning needs the data; without it, play safe
        return True
    cache = Path(root) if root is not None else data.cache_dir() / "results"
    return any(not (cache / key / "result.json").is_file() for key in keys[0] & keys[1])
