"""``skyfence coverage``: satellites in view and figures of merit over a region, compared across sources."""

from __future__ import annotations

import math
import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from skyfence.cli._common import (
    STRICT_EPOCHS,
    check_epochs,
    check_output,
    console,
    help_examples,
    print_summary_json,
    steps_progress,
    summary_text,
)
from skyfence.cli._layout import WIDE_HELP, fits, print_wide

if TYPE_CHECKING:
    from skyfence.coverage.engine import CoverageResult

_SUMMARY_COLUMNS = (
    ("coverage_fraction", "coverage", "{:.1%}"),
    ("coverage_fraction_worst_cell", "worst cell", "{:.1%}"),
    ("sats_in_view_mean", "sats mean", "{:.1f}"),
    ("sats_in_view_min", "min", "{:.0f}"),
    ("sats_in_view_max", "max", "{:.0f}"),
    ("n_gaps_mean", "gaps/cell", "{:.1f}"),
    ("max_gap_s", "max gap \\[s]", "{:.0f}"),
    ("mean_gap_s", "mean gap \\[s]", "{:.0f}"),
)

#: Row names of the narrow (transposed) summary.
_LONG_TITLES = {
    "coverage_fraction": "coverage (share of time)",
    "coverage_fraction_worst_cell": "coverage, worst cell",
    "sats_in_view_mean": "satellites in view, mean",
    "sats_in_view_min": "satellites in view, fewest",
    "sats_in_view_max": "satellites in view, most",
    "n_gaps_mean": "gaps per cell",
    "max_gap_s": "longest gap [s]",
    "mean_gap_s": "mean gap [s]",
}


def _fmt(value: Any, fmt: str) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else fmt.format(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "source"


def _write_outputs(folder: Path, label: str, result: CoverageResult) -> dict[str, str]:
    """The dataset and per-cell tables of one source (maps are drawn for all sources at once)."""
    from skyfence.report.geo import write_cells_geojson, write_cells_geoparquet

    files = {}
    if result.counts is not None:
        path = folder / f"{label}_sats_in_view.nc"
        result.counts.to_netcdf(path, engine="netcdf4")
        files["dataset"] = path.name
    files["cells_parquet"] = write_cells_geoparquet(
        folder / f"{label}_cells.parquet", result.cells, result.per_cell
    ).name
    files["cells_geojson"] = write_cells_geojson(folder / f"{label}_cells.geojson", result.cells, result.per_cell).name
    return files


@help_examples(
    "skyfence coverage starlink_omm_20260818 --region TW --duration 1h",
    (
        "skyfence coverage starlink_omm_20260818 --compare oneweb_omm_20260818 \\\n"
        "    --region TW --start 2026-08-18T12:00Z --duration 24h \\\n"
        "    --out out/tw-coverage"
    ),
)
def coverage(
    source: str = typer.Argument(
        ..., help="TLE/OMM file, preset name, dated catalog (starlink_omm_20260818) or live celestrak:GROUP."
    ),
    region: str = typer.Option(
        "world", "--region", help="TW, Ukraine, world, disputed:NAME, occupied:ua:DATE or FILE.geojson."
    ),
    res: int = typer.Option(5, "--res", help="H3 resolution of the cells (0-15)."),
    min_elevation: float = typer.Option(25.0, "--min-elevation", help="Elevation mask \\[deg]."),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch of SOURCE."),
    duration: str = typer.Option("24h", help="Span: 90m, 6h, 24h ... (ignored when --end is given)."),
    end: str = typer.Option(None, help="End, ISO 8601 UTC, instead of --duration."),
    step: str = typer.Option("60s", help="Time step: 15s, 60s ..."),
    min_sats: int = typer.Option(1, "--min-sats", help="Satellites needed for a cell to count as covered."),
    compare: list[str] = typer.Option(None, "--compare", help="Another SOURCE to run on the same cells and times."),
    pov: str = typer.Option("default", "--pov", help="Border point of view for countries: default or DEU."),
    out: Path = typer.Option(None, "--out", help="Write dataset, per-cell tables and maps into this folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
    yes: bool = typer.Option(False, "--yes", help="Go ahead even above 10 million cells."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Satellites in view per H3 cell over time and figures of merit per region (STK Coverage names)."""

    from skyfence._io import atomic_outputs
    from skyfence.coverage.engine import run_coverage
    from skyfence.earth.regions import MAX_CELLS, get_region
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import default_start, iso_utc, parse_time, time_grid

    check_output(out, folder=True)
    area = get_region(region, pov=pov)
    cells = area.cells(res, max_cells=None if yes else MAX_CELLS)
    sources = [source, *(compare or [])]
    constellations = [load_constellation(s) for s in sources]
    t0 = default_start(constellations[0].epoch_range) if start is None else parse_time(start, field="--start")
    if end is None:
        times = time_grid(t0, duration, step)
    else:
        times = time_grid(t0, step=step, end=parse_time(end, field="--end"))
    check_epochs(constellations, times, strict=strict)
    results: list[tuple[str, CoverageResult]] = []
    with steps_progress(disable=json_out) as bar:
        for constellation in constellations:
            task = bar.add_task(f"coverage {constellation.name}", total=len(times))
            result = run_coverage(
                constellation,
                cells,
                times,
                min_elevation_deg=min_elevation,
                min_sats=min_sats,
                keep_counts=out is not None,
                progress=partial(bar.advance, task),
            )
            results.append((constellation.name, result))
    summary: dict[str, Any] = {
        "region": {
            "spec": region,
            "name": area.name,
            "code": area.code,
            "kind": area.kind,
            "area_km2": area.area_km2(),
            "pov": area.pov,
        },
        "res": res,
        "cells": len(cells),
        "min_elevation_deg": min_elevation,
        "min_sats": min_sats,
        "start": iso_utc(times[0]),
        "end": iso_utc(times[-1]),
        "step": step,
        "steps": len(times),
        "sources": [
            {"source": src, "name": name, "satellites": r.settings["satellites"], **r.statistics}
            for src, (name, r) in zip(sources, results, strict=True)
        ],
    }
    if out is not None:
        from skyfence.report.figures import coverage_maps

        with atomic_outputs(out) as staging:
            labels = []
            for name, result in results:
                label = _slug(name)
                while label in labels:
                    label += "_b"
                labels.append(label)
                files = _write_outputs(staging, label, result)
                summary["sources"][len(labels) - 1]["files"] = files
            maps = coverage_maps(
                [(name, result.per_cell) for name, result in results],
                region=area.name,
                name=_slug(area.code or area.name),
                min_elevation_deg=min_elevation,
                span=f"{summary['start']} to {summary['end']}",
                outline=None if area.kind == "world" else area.geometry,
                pov=pov,
            )
            for figure in maps:
                (staging / figure.name).write_bytes(figure.png)
            summary["maps"] = [figure.name for figure in maps]
            (staging / "summary.json").write_text(summary_text(summary))
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    console.print(
        f"[bold]{area.name}[/] ({area.kind}, {summary['region']['area_km2']:,.0f} km², "
        f"{len(cells):,} cells at res {res}); "
        f"{summary['start']} → {summary['end']} every {step}; mask {min_elevation:g}°, ≥{min_sats} satellite(s)"
    )
    rows = [
        (entry["name"], [f"{entry['satellites']:,}"] + [_fmt(entry.get(k), fmt) for k, _, fmt in _SUMMARY_COLUMNS])
        for entry in summary["sources"]
    ]
    table = Table("source", "satellites", *(title for _, title, _ in _SUMMARY_COLUMNS))
    for name, row in rows:
        table.add_row(escape(name), *row)
    if wide:
        print_wide(table)
    elif fits(table):
        console.print(table)
    else:  # too wide for the terminal: one row per figure, one column per source
        narrow = Table("", *(escape(name) for name, _ in rows), box=box.SIMPLE_HEAD)
        for i, title in enumerate(["satellites", *(_LONG_TITLES[key] for key, _, _ in _SUMMARY_COLUMNS)]):
            narrow.add_row(escape(title), *(row[i] for _, row in rows))  # "[s]" is rich markup (strike) unescaped
        console.print(narrow)
    if out is not None:
        console.print(f"wrote {out}/ (summary.json, per-source .nc, .parquet, .geojson, .png)")
