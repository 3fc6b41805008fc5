"""What each Dask worker of a sweep is given once, before its first point: :class:`WorkerSetup`.

A point's first run in a fresh worker process pays for importing the scenario runner and its kernels (pandas,
scipy, numba's cached machine code) and for parsing the element catalog (~0.25 s for Starlink).  The plugin does
that when the worker joins the sweep -- every worker at once, and again on a worker Dask starts to replace one
that died -- so no point carries it (numba's cached machine code still loads at a kernel's first call), and the
catalog stays in the worker's memory for every later point (:func:`skyfence.scenario.units._read_catalog`).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import warnings
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

__all__ = ["WorkerSetup", "warm_up"]

#: Modules a sweep point runs (imported up front so that no point pays for them).
POINT_MODULES = (
    "skyfence.scenario.runner",
    "skyfence.sweep.metrics",
    "skyfence.coverage.engine",
    "skyfence.capacity.engine",
    "skyfence.network.routing",
    "skyfence.threats.assess",
)


def warm_up(scenario: dict[str, Any], base_dir: str) -> float:
    """Import the modules a point runs and read the catalogs and regions of ``scenario`` into this process's
    memory; returns the seconds it took.  A scenario that cannot be read here is left to the first point, which
    reports it with its own message."""
    started = time.perf_counter()
    for name in POINT_MODULES:
        importlib.import_module(name)
    from skyfence.scenario.schema import scenario_from_dict
    from skyfence.scenario.units import Context

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx = Context(scenario_from_dict(scenario, source="sweep"), Path(base_dir))
            for spec in ctx.scenario.constellations:
                ctx.constellation(spec)
            for region in ctx.scenario.regions:
                ctx.region(region)
    except Exception:  # the first point runs the same code and says what is wrong
        pass
    return time.perf_counter() - started


class WorkerSetup(WorkerPlugin):
    """Run :func:`warm_up` with the sweep's first point on every worker, off the worker's event loop."""

    name = "skyfence-sweep-setup"

    def __init__(self, scenario: dict[str, Any], base_dir: str) -> None:
        self.scenario = scenario
        self.base_dir = base_dir
        self.seconds: float | None = None

    async def setup(self, worker) -> None:
        self.seconds = await asyncio.to_thread(warm_up, self.scenario, self.base_dir)
