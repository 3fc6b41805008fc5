"""Big single runs: coverage over a long span or a fine grid, chunked over time across the sweep's Dask cluster.

A month at 60 s over the world at res 4 is 43,200 steps x 288,122 cells: 25 GB of satellite counts, more than a
2-core machine holds.  The span is cut into time chunks (``chunk``, default 6 h); each chunk is one task that runs
:func:`skyfence.coverage.engine.run_coverage` on its steps and writes its counts to one NetCDF file
(``counts/part-NNNN.nc``: ``sats_in_view`` [uint16] on ``(time, cell)``, zlib-compressed, chunked on disk), and
returns only per-cell sums (steps covered, satellites in view).  A worker therefore holds one chunk at a time: its
peak memory is set by ``chunk`` and the number of cells, not by the length of the span.  The client adds the sums
into ``per_cell.parquet`` (coverage fraction and mean satellites in view per cell) and ``chunked.json``.

Read the counts back lazily, chunk by chunk, with ``xarray.open_mfdataset("DIR/counts/part-*.nc")``.  On a
cluster given by ``--scheduler``, the output folder must be on a file system the workers share.

The file (``[chunked]`` table)::

    [chunked]
    constellation = "starlink_omm_20260818"   # a preset, a catalog dataset or an elements file
    region = "world"                          # any region spec
    res = 4
    start = "2026-08-18T00:00:00Z"
    duration = "30d"
    step = "60s"
    chunk = "6h"
    min_elevation_deg = 25.0
"""

from __future__ import annotations

import functools
import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skyfence._validation import first_problem, read_toml
from skyfence.errors import InputError

__all__ = ["ChunkedSpec", "is_chunked_file", "load_chunked", "run_chunked"]


class ChunkedSpec(BaseModel):
    """``[chunked]``: what to cover, over which span, in chunks of how long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = ""
    constellation: Annotated[str, Field(min_length=1)]
    region: Annotated[str, Field(min_length=1)]
    res: Annotated[int, Field(ge=0, le=9)] = 4
    start: str
    duration: str
    step: str = "60s"
    chunk: str = "6h"
    min_elevation_deg: Annotated[float, Field(ge=0.0, lt=90.0)] = 25.0
    min_sats: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _times(self) -> ChunkedSpec:
        from skyfence.orbits.time import parse_duration, parse_time

        parse_time(self.start, field="start")
        step = parse_duration(self.step, field="step")
        if step <= np.timedelta64(0, "ns"):
            raise ValueError(f"step {self.step} must be positive")
        if parse_duration(self.duration, field="duration") <= np.timedelta64(0, "ns"):
            raise ValueError(f"duration {self.duration} must be positive")
        if parse_duration(self.chunk, field="chunk") < step:
            raise ValueError(f"chunk {self.chunk} is shorter than one step ({self.step})")
        return self

    def times(self) -> np.ndarray:
        from skyfence.orbits.time import time_grid

        return time_grid(self.start, self.duration, self.step)

    def steps_per_chunk(self) -> int:
        from skyfence.orbits.time import parse_duration

        return max(int(parse_duration(self.chunk) // parse_duration(self.step)), 1)


@dataclass
class ChunkedResult:
    """Per-cell figures (``per_cell``), the part files, and how the run went."""

    per_cell: pd.DataFrame
    parts: list[str]
    steps: int
    cells: int
    chunk_steps: int
    seconds: float
    worker_peak_rss_mb: dict[str, float] = field(default_factory=dict)


def is_chunked_file(path: str | Path) -> bool:
    """True when ``path`` is a TOML file with a ``[chunked]`` table (``skyfence sweep`` then runs it)."""
    try:
        return "chunked" in tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def load_chunked(path: str | Path) -> tuple[ChunkedSpec, Path]:
    """Read and check a ``[chunked]`` file; returns the spec and the folder relative paths start from."""
    from skyfence.earth.regions import get_region

    path = Path(path)
    source = str(path)
    raw = read_toml(path)
    try:
        spec = ChunkedSpec.model_validate(raw.get("chunked", {}))
    except ValidationError as error:
        problem = first_problem(error, data=raw.get("chunked", {}))
        raise InputError(problem.message, source=source, field=f"chunked.{problem.field}", hint=problem.hint) from None
    try:
        get_region(_relative(spec.region, path.parent))
    except InputError:
        raise
    except Exception as error:
        raise InputError(str(error), source=source, field="chunked.region") from None
    return spec, path.parent


def _relative(text: str, base: Path) -> str:
    return str(base / text) if text.lower().endswith((".json", ".geojson", ".tle", ".txt", ".csv", ".xml")) else text


@functools.lru_cache(maxsize=4)
def _constellation(source: str):
    """The constellation of a worker, loaded once per process."""
    from skyfence.orbits.sources import load_constellation

    return load_constellation(source)


@functools.lru_cache(maxsize=4)
def _cells(region: str, res: int) -> np.ndarray:
    from skyfence.earth.regions import get_region

    return get_region(region).cells(res, max_cells=None)


def run_chunk(index: int, spec_json: str, base: str, times: np.ndarray, folder: str) -> dict[str, Any]:
    """One time chunk: coverage counts to ``folder/part-NNNN.nc``; returns per-cell sums and the worker's peak RSS."""
    import resource

    import xarray as xr

    from skyfence._io import atomic_path
    from skyfence.coverage.engine import run_coverage

    spec = ChunkedSpec.model_validate_json(spec_json)
    constellation = _constellation(_relative(spec.constellation, Path(base)))
    cells = _cells(_relative(spec.region, Path(base)), spec.res)
    result = run_coverage(constellation, cells, times, min_elevation_deg=spec.min_elevation_deg, min_sats=spec.min_sats)
    assert result.counts is not None
    counts = result.counts["sats_in_view"].to_numpy()
    target = Path(folder) / f"part-{index:04d}.nc"
    dataset = xr.Dataset(
        {"sats_in_view": (("time", "cell"), counts)},
        coords={"time": result.times, "cell": np.asarray([f"{c:x}" for c in result.cells.tolist()])},
        attrs={"chunk": index, "constellation": spec.constellation, "region": spec.region, "res": spec.res},
    )
    with atomic_path(target) as tmp:
        dataset.to_netcdf(
            tmp,
            format="NETCDF4",
            engine="netcdf4",
            encoding={"sats_in_view": {"zlib": True, "complevel": 1, "chunksizes": (min(len(times), 64), len(cells))}},
        )
    covered = (counts >= spec.min_sats).sum(axis=0, dtype=np.int64)
    return {
        "index": index,
        "part": target.name,
        "steps": len(times),
        "cells": [f"{c:x}" for c in result.cells.tolist()],
        "covered_steps": covered,
        "sats_sum": counts.sum(axis=0, dtype=np.int64),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "worker": _worker_name(),
    }


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def run_chunked(
    spec: ChunkedSpec,
    base: Path,
    folder: Path,
    *,
    serial: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    retries: int = 3,
    on_start=None,
    on_chunk=None,
) -> ChunkedResult:
    """Cover ``spec`` chunk by chunk (one task each); parts into ``folder/counts/``; per-cell sums added here."""
    from skyfence.sweep.execute import SweepRun, cluster_client

    started = time.perf_counter()
    times = spec.times()
    n = spec.steps_per_chunk()
    chunks = [times[i : i + n] for i in range(0, len(times), n)]
    parts_dir = folder / "counts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    spec_json = spec.model_dump_json()
    done: list[dict[str, Any]] = []
    run = SweepRun()
    if serial:
        if on_start:
            on_start(run, len(chunks))
        for i, chunk in enumerate(chunks):
            done.append(run_chunk(i, spec_json, str(base), chunk, str(parts_dir)))
            if on_chunk:
                on_chunk(len(done), len(chunks))
    else:
        with cluster_client(client=client, scheduler=scheduler, workers=workers, run=run) as dask_client:
            if on_start:
                on_start(run, len(chunks))
            from distributed import as_completed

            futures = [
                dask_client.submit(
                    run_chunk, i, spec_json, str(base), chunk, str(parts_dir), pure=False, retries=retries
                )
                for i, chunk in enumerate(chunks)
            ]
            with dask_client.as_current():
                queue = as_completed(futures)
            for future in queue:
                done.append(future.result())
                future.release()
                if on_chunk:
                    on_chunk(len(done), len(chunks))
    done.sort(key=lambda d: d["index"])
    cells = done[0]["cells"]
    covered = np.sum([d["covered_steps"] for d in done], axis=0)
    sats = np.sum([d["sats_sum"] for d in done], axis=0)
    steps = int(sum(d["steps"] for d in done))
    per_cell = pd.DataFrame({"cell": cells, "coverage_fraction": covered / steps, "sats_in_view_mean": sats / steps})
    peaks: dict[str, float] = {}
    for d in done:
        peaks[d["worker"]] = max(peaks.get(d["worker"], 0.0), round(float(d["peak_rss_mb"]), 1))
    return ChunkedResult(
        per_cell, [d["part"] for d in done], steps, len(cells), n, time.perf_counter() - started, peaks
    )


def write_chunked(folder: Path, spec: ChunkedSpec, result: ChunkedResult) -> dict[str, Any]:
    """``per_cell.parquet`` and ``chunked.json`` beside the ``counts/`` parts."""
    result.per_cell.to_parquet(folder / "per_cell.parquet", index=False)
    summary = {
        "title": spec.title,
        "spec": spec.model_dump(),
        "steps": result.steps,
        "cells": result.cells,
        "chunk_steps": result.chunk_steps,
        "parts": [f"counts/{p}" for p in result.parts],
        "coverage_fraction_mean": float(result.per_cell["coverage_fraction"].mean()),
        "sats_in_view_mean": float(result.per_cell["sats_in_view_mean"].mean()),
        "worker_peak_rss_mb": result.worker_peak_rss_mb,
        "seconds": round(result.seconds, 3),
        "read_back": 'xarray.open_mfdataset("counts/part-*.nc", combine="nested", concat_dim="time")',
    }
    (folder / "chunked.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
