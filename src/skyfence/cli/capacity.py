"""``skyfence capacity``: offered capacity, served fraction and Mb/s per user over a region."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from skyfence.cli._common import (
    STRICT_EPOCHS,
    check_epochs,
    console,
    help_examples,
    print_summary_json,
    renamed_options,
    steps_progress,
    summary_text,
)
from skyfence.cli._layout import fits
from skyfence.errors import InputError

_STARLINK_GATEWAYS = "starlink_ground_stations"
_COLUMNS = (
    ("population", "population", "{:,.0f}"),
    ("demand_gbps", "demand Gb/s", "{:,.1f}"),
    ("offered_gbps_mean", "offered Gb/s", "{:,.1f}"),
    ("served_gbps_mean", "served Gb/s", "{:,.1f}"),
    ("served_fraction", "served", "{:.1%}"),
    ("mbps_per_user_median", "Mb/s/user p50", "{:.1f}"),
    ("mbps_per_user_p10", "p10", "{:.1f}"),
    ("share_above_25_mbps", ">=25 Mb/s", "{:.1%}"),
    ("share_above_100_mbps", ">=100 Mb/s", "{:.1%}"),
    ("mbps_per_user_up_median", "up Mb/s/user p50", "{:.1f}"),
)
#: Row names of the narrow (one line per figure) layout.
_LONG_TITLES = {
    "population": "people in the region",
    "demand_gbps": "busy-hour demand [Gb/s]",
    "offered_gbps_mean": "capacity offered, mean [Gb/s]",
    "served_gbps_mean": "demand served, mean [Gb/s]",
    "served_fraction": "share of demand served",
    "mbps_per_user_median": "downlink per active user, median [Mb/s]",
    "mbps_per_user_p10": "downlink per active user, 10th percentile [Mb/s]",
    "share_above_25_mbps": "users with at least 25 Mb/s",
    "share_above_100_mbps": "users with at least 100 Mb/s",
    "mbps_per_user_up_median": "uplink per active user, median [Mb/s]",
}


@help_examples(
    "skyfence capacity starlink_omm_20260818 --region TW --duration 1h",
    (
        "skyfence capacity starlink_omm_20260818 --region TW --take-rate 0.01 \\\n"
        "    --exclude-gateways-in TW --duration 1h --out out/tw-capacity"
    ),
)
@renamed_options(ground="--gateways", exclude_gateways_in="--no-gateway-in")
def capacity(
    source: str = typer.Argument(..., help="TLE/OMM file, preset name or celestrak:GROUP."),
    region: str = typer.Option("TW", "--region", help="TW, Ukraine, disputed:NAME, occupied:ua:DATE or FILE.geojson."),
    res: int = typer.Option(5, "--res", help="H3 resolution of the cells."),
    rain_p: float = typer.Option(0.1, "--rain-p", help="Rain fade exceeded p % of the year (0.001-5)."),
    clear_sky: bool = typer.Option(False, "--clear-sky", help="No rain fade (ignore --rain-p)."),
    take_rate: float = typer.Option(0.02, "--take-rate", help="Share of the population subscribed, 0-1."),
    busy_hour: float = typer.Option(
        2.5,
        "--busy-hour-mbps",
        help="Busy-hour rate per subscriber, averaged over idle and active ones \\[Mb/s], 0-220 (the plan peak).",
    ),
    oversubscription: float = typer.Option(20.0, "--oversubscription", help="Contention ratio (>= 1)."),
    generation: str = typer.Option(None, "--generation", help="Satellite generation for all satellites."),
    freq_ghz: float = typer.Option(None, "--freq-ghz", help="User-downlink frequency \\[GHz] instead of 11.7."),
    ground: str = typer.Option(
        "starlink_ground_stations",
        "--ground",
        help="Gateway list (dataset or file), or 'none' (every satellite fed). Default: Starlink's community list "
        "for Starlink, none for others.",
    ),
    exclude_gateways_in: list[str] = typer.Option(
        None, "--exclude-gateways-in", help="Leave out the gateways in this country (ISO2; repeatable)."
    ),
    start: str = typer.Option(None, help="Start, ISO 8601 UTC. Default: newest element epoch of SOURCE."),
    duration: str = typer.Option("24h", help="Span: 90m, 6h, 24h ..."),
    step: str = typer.Option("60s", help="Time step."),
    out: Path = typer.Option(None, "--out", help="Write the dataset, per-cell table, maps and summary.json here."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    strict: bool = STRICT_EPOCHS,
) -> None:
    """Capacity per H3 cell over time: link budgets, rain, beams and demand -> Mb/s per user."""
    from skyfence._io import atomic_outputs
    from skyfence.capacity.atmosphere import validate_frequency_ghz, validate_p_percent
    from skyfence.capacity.demand import DemandModel
    from skyfence.capacity.engine import assign_generations, run_capacity
    from skyfence.capacity.resources import fed_by_starlink_gateways, get_generation
    from skyfence.earth.regions import get_region
    from skyfence.orbits.sources import load_constellation
    from skyfence.orbits.time import default_start, iso_utc, parse_time, time_grid

    # every option is checked before anything is computed or written
    try:
        demand = DemandModel(take_rate=take_rate, busy_hour_mbps=busy_hour, oversubscription=oversubscription)
    except InputError as error:
        option = {"take_rate": "--take-rate", "busy_hour_mbps": "--busy-hour-mbps"}.get(
            str(error.field), "--" + str(error.field)
        )
        raise InputError(error.message, field=option, hint=error.hint) from None
    p = None if clear_sky else validate_p_percent(rain_p, field="--rain-p")
    if generation is not None:
        get_generation(generation, field="--generation")
    if freq_ghz is not None:
        validate_frequency_ghz(freq_ghz, field="--freq-ghz")
    area = get_region(region)
    cells = area.cells(res)
    constellation = load_constellation(source)
    segment = None
    if ground == _STARLINK_GATEWAYS and not fed_by_starlink_gateways(assign_generations(constellation, generation)):
        ground = "none"  # the community list is Starlink's; no other operator's gateways are in the data
    if ground.lower() != "none":
        from skyfence.network.ground import load_ground_segment

        segment = load_ground_segment(ground)
        if exclude_gateways_in:
            segment = segment.exclude_gateways_in(exclude_gateways_in, field="--exclude-gateways-in")
    elif exclude_gateways_in:
        raise InputError(
            f"has no effect: {constellation.name} is modelled without gateways (every satellite fed)",
            field="--exclude-gateways-in",
            hint="give --ground DATASET_OR_FILE with that operator's gateways",
        )
    t0 = default_start(constellation.epoch_range) if start is None else parse_time(start, field="--start")
    times = time_grid(t0, duration, step)
    check_epochs(constellation, times, strict=strict)
    with steps_progress(disable=json_out) as bar:
        task = bar.add_task(f"capacity {constellation.name}", total=len(times))
        result = run_capacity(
            constellation,
            cells,
            times,
            generation=generation,
            generation_overrides=None
            if freq_ghz is None
            else {n: {"freq_down_ghz": freq_ghz} for n in set(assign_generations(constellation, generation)) if n},
            rain_p=p,
            demand=demand,
            ground=segment,
            progress=partial(bar.advance, task),
        )
    summary: dict[str, Any] = {
        "region": {"spec": region, "name": area.name, "code": area.code, "kind": area.kind},
        "res": res,
        "cells": len(cells),
        "source": source,
        "start": iso_utc(times[0]),
        "end": iso_utc(times[-1]),
        "step": step,
        "steps": len(times),
        "settings": result.settings,
        "statistics": result.statistics,
    }
    if out is not None:
        from skyfence.report.maps import plot_cells

        with atomic_outputs(out) as staging:
            result.dataset.to_netcdf(staging / "capacity.nc", engine="netcdf4")
            result.per_cell.to_csv(staging / "capacity_cells.csv", index=False)
            plot_cells(
                staging / "mbps_per_user.png",
                result.cells,
                result.per_cell["mbps_per_user_median"].to_numpy(),
                title=f"busy-hour Mb/s per active user (median over time) — {area.name}",
                label="Mb/s per user",
                vmin=0.0,
            )
            plot_cells(
                staging / "served_fraction.png",
                result.cells,
                result.per_cell["served_fraction_mean"].to_numpy(),
                title=f"share of busy-hour demand served (mean over time) — {area.name}",
                label="served fraction",
                vmin=0.0,
                vmax=1.0,
                cmap="magma",
            )
            (staging / "summary.json").write_text(summary_text(summary))
    if print_summary_json(summary, out=out, json_out=json_out):
        return
    fp_res = result.settings.get("footprint_res", res)
    console.print(
        f"[bold]{area.name}[/] ({len(cells):,} cells at res {res}); {summary['start']} → {summary['end']} every "
        f"{step}; {constellation.name} ({len(constellation):,} satellites: {result.settings['generations']}); "
        f"rain {'none' if p is None else f'p = {p:g} %'}; take rate {take_rate:g}"
    )
    console.print(escape(str(result.settings.get("footprint", ""))), style="dim" if res == fp_res else "yellow")
    table = Table(*(title for _, title, _ in _COLUMNS))
    row = []
    for key, _, fmt in _COLUMNS:
        value = result.statistics.get(key)
        row.append("–" if value is None or not math.isfinite(value) else fmt.format(value))
    table.add_row(*row)
    if fits(table):
        console.print(table)
    else:  # too wide for the terminal (or a file at 80 columns): one line per figure, never a cut number
        narrow = Table("", "", box=box.SIMPLE_HEAD, show_header=False)
        for (key, _, _), text in zip(_COLUMNS, row, strict=True):
            narrow.add_row(escape(_LONG_TITLES[key]), text)
        console.print(narrow)
    if out is not None:
        console.print(f"wrote {out}/ (summary.json, capacity.nc, capacity_cells.csv, maps)")
