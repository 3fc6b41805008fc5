"""``skyfence sweep``: a sweep file in (a base scenario and axes), a tidy Parquet table and plots out.

Runs on a Dask ``LocalCluster`` sized to the cores by default, ``--workers N`` processes, an existing cluster
with ``--scheduler tcp://HOST:8786``, or ``--serial`` in this process.  Points already computed (by an interrupted
run, another sweep, or ``skyfence assess``) come from the cache.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.markup import escape

from skyfence._io import atomic_outputs
from skyfence.cli._common import check_output, console, fail, help_examples, print_json


@help_examples(
    ("skyfence sweep examples/sweeps/taiwan_attrition.toml --out out/attrition \\\n    --repetitions 10"),
    ("skyfence sweep examples/sweeps/taiwan_gateway_sites.toml \\\n    --out out/gateway_sites"),
    ("skyfence sweep examples/frontline_timetravel.toml --out out/timetravel \\\n    --serial"),
)
def sweep(
    sweep_file: Path = typer.Argument(..., help="Sweep TOML (see examples/sweeps/taiwan_attrition.toml)."),
    out: Path = typer.Option(..., "--out", help="Output folder: report.html, results.parquet, plots/, sweep.json."),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://HOST:8786). Default: a local cluster."
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="Worker processes of the local cluster (default: cores)."
    ),
    serial: bool = typer.Option(False, "--serial", help="Run the points one after another in this process (no Dask)."),
    yes: bool = typer.Option(False, "--yes", help="Run a sweep of more than 1,000,000 points."),
    retries: int = typer.Option(3, "--retries", min=0, help="Times Dask re-runs a point whose worker failed."),
    repetitions: int = typer.Option(
        None, "--repetitions", min=1, help="Run this many repetitions instead of the file's (e.g. a quick look)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print sweep.json to stdout."),
) -> None:
    """Run a scenario over a grid of parameters and Monte Carlo repetitions; write one table and plots.

    A file with a \\[timetravel] table (examples/frontline_timetravel.toml) runs the occupation time-travel instead:
    one task per date of the front-line series; one with a \\[chunked] table
    (examples/sweeps/starlink_world_chunked.toml) runs one big coverage run chunked over time, one task per chunk,
    to chunked NetCDF."""
    if scheduler is not None and (workers is not None or serial):
        fail("give --scheduler, or --workers / --serial for a local run, not both")
    from skyfence.sweep.execute import connect

    # An unreachable scheduler is said at once (within the connect timeout), before any file is read.
    client = connect(scheduler) if scheduler is not None else None
    try:
        _run(sweep_file, out, client, workers, serial, yes, retries, repetitions, json_out)
    finally:
        if client is not None:
            client.close()


def _run(
    sweep_file: Path,
    out: Path,
    client,
    workers: int | None,
    serial: bool,
    yes: bool,
    retries: int,
    repetitions: int | None,
    json_out: bool,
) -> None:
    from skyfence.sweep.chunked import is_chunked_file
    from skyfence.sweep.execute import run_sweep
    from skyfence.sweep.results import results_table, write_outputs
    from skyfence.sweep.spec import load_sweep
    from skyfence.sweep.timetravel import is_timetravel_file

    if is_chunked_file(sweep_file):
        _chunked(sweep_file, out, client=client, workers=workers, serial=serial, retries=retries, json_out=json_out)
        return
    if is_timetravel_file(sweep_file):
        _timetravel(sweep_file, out, client=client, workers=workers, serial=serial, retries=retries, json_out=json_out)
        return
    started = time.perf_counter()
    spec = load_sweep(sweep_file, confirm_large=yes, repetitions=repetitions)
    check_output(out, folder=True)
    plain = not sys.stdout.isatty()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("points"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=plain,
    )
    task = bar.add_task("points", total=spec.size, note="")

    def on_start(run) -> None:
        where = f"{run.mode}, {run.workers} worker(s)"
        if run.dashboard:
            where += f"; dashboard: {run.dashboard}"
        message = f"sweep: {spec.size:,} point(s) on {where}"
        if plain:
            sys.stderr.write(message + "\n")
        else:
            console.print(escape(message), soft_wrap=True)

    def on_point(result, run) -> None:
        done = len(run.results)
        bar.update(task, completed=done, note=f"{run.cache_misses} unit(s) computed")
        if plain and (done == spec.size or done % max(spec.size // 20, 1) == 0):
            sys.stderr.write(f"sweep: {done}/{spec.size} point(s)\n")
            sys.stderr.flush()

    with bar:
        run = run_sweep(
            spec,
            serial=serial,
            workers=workers,
            client=client,
            retries=retries,
            on_start=on_start,
            on_point=on_point,
        )
    frame = results_table(spec, run)
    with atomic_outputs(out) as staging:
        summary = write_outputs(staging, spec, run, frame)
    if json_out:
        print_json(summary)
        return
    console.print(
        f"[bold]{escape(spec.spec.title or Path(spec.source).name)}[/]: {len(frame):,} point(s), "
        f"{run.points_computed:,} computed, {len(frame) - run.points_computed:,} from cache "
        f"({run.cache_misses} unit(s) computed, {run.cache_hits} read); {time.perf_counter() - started:.1f} s",
        soft_wrap=True,
    )
    if summary["ranking"]:
        from skyfence.sweep.metrics import has_attacks, metric_scale, metric_unit
        from skyfence.sweep.results import rank_header

        rank = spec.spec.rank
        assert rank is not None
        unit, scale = metric_unit(rank.metrics[0]), metric_scale(rank.metrics[0])
        what = rank_header(rank.metrics, attacked=has_attacks(frame.columns)).removesuffix(f" [{unit}]")
        order = "lowest" if rank.order == "ascending" else "highest"
        console.print(f"ranked by {escape(what)}, {order} first:", soft_wrap=True)
        for row in summary["ranking"][:5]:
            label = ", ".join(f"{a.name}={row[a.name]}" for a in spec.axes)
            value = f"{scale * row['rank_value']:.4g}" + (f" {unit}" if unit and unit != "count" else "")
            console.print(f"  {row['rank']}. {escape(label)}: {escape(value)}", soft_wrap=True)
    console.print(f"report: {out / 'report.html'}; table: {out / 'results.parquet'}", soft_wrap=True)


def _timetravel(
    path: Path, out: Path, *, client, workers: int | None, serial: bool, retries: int, json_out: bool
) -> None:
    """A ``[timetravel]`` file: one task per date, the table, the flipped cells and the animation."""
    from skyfence.sweep.timetravel import load_timetravel, run_timetravel, write_timetravel

    started = time.perf_counter()
    tt = load_timetravel(path)
    check_output(out, folder=True)

    def on_start(run) -> None:
        where = f"{run.mode}, {run.workers} worker(s)" + (f"; dashboard: {run.dashboard}" if run.dashboard else "")
        sys.stderr.write(f"time-travel: {len(tt.dates)} date(s) on {where}\n")
        sys.stderr.flush()

    def on_date(done: int) -> None:
        sys.stderr.write(f"time-travel: {done}/{len(tt.dates)} date(s)\n")
        sys.stderr.flush()

    result = run_timetravel(
        tt, serial=serial, workers=workers, client=client, retries=retries, on_start=on_start, on_date=on_date
    )
    with atomic_outputs(out) as staging:
        summary = write_timetravel(staging, tt, result)
    if json_out:
        print_json(summary)
        return
    console.print(
        f"[bold]{escape(tt.spec.title or Path(tt.source).name)}[/]: {len(tt.dates)} date(s), "
        f"{result.dates_computed} computed; {time.perf_counter() - started:.1f} s",
        soft_wrap=True,
    )
    for row in summary["rows"][1:]:
        line = (
            f"  {row['previous_date']} -> {row['date']}: {row['cells_newly_inside']:,} cells newly inside, "
            f"{row['cells_newly_outside']:,} newly outside; people {row['population_newly_inside']:,} in, "
            f"{row['population_newly_outside']:,} out"
        )
        if row.get("terminals_cut_off") is not None:
            line += (
                f"; terminals cut off {row['terminals_cut_off']:,} (+{row['terminals_newly_cut_off']:,}, "
                f"-{row['terminals_restored']:,})"
            )
        console.print(escape(line), soft_wrap=True)
    console.print(
        f"report: {out / 'report.html'}; table: {out / 'timetravel.parquet'}; animation: {out / 'timetravel.gif'}",
        soft_wrap=True,
    )


def _chunked(path: Path, out: Path, *, client, workers: int | None, serial: bool, retries: int, json_out: bool) -> None:
    """A ``[chunked]`` file: one coverage run cut into time chunks, one task each, parts written as NetCDF."""
    from skyfence.sweep.chunked import load_chunked, run_chunked, write_chunked

    started = time.perf_counter()
    spec, base = load_chunked(path)
    check_output(out, folder=True)

    def on_start(run, chunks: int) -> None:
        where = f"{run.mode}, {run.workers} worker(s)" + (f"; dashboard: {run.dashboard}" if run.dashboard else "")
        sys.stderr.write(f"chunked run: {chunks} chunk(s) of {spec.chunk} on {where}\n")
        sys.stderr.flush()

    def on_chunk(done: int, total: int) -> None:
        sys.stderr.write(f"chunked run: {done}/{total} chunk(s)\n")
        sys.stderr.flush()

    with atomic_outputs(out) as staging:
        result = run_chunked(
            spec,
            base,
            staging,
            serial=serial,
            workers=workers,
            client=client,
            retries=retries,
            on_start=on_start,
            on_chunk=on_chunk,
        )
        summary = write_chunked(staging, spec, result)
    if json_out:
        print_json(summary)
        return
    peaks = ", ".join(f"{mb:,.0f}" for mb in summary["worker_peak_rss_mb"].values())
    console.print(
        f"[bold]{escape(spec.title or Path(path).name)}[/]: {result.steps:,} steps x {result.cells:,} cells in "
        f"{len(result.parts)} chunk(s) of {result.chunk_steps} steps; mean coverage "
        f"{summary['coverage_fraction_mean']:.4f}; worker peak memory {peaks} MB; "
        f"{time.perf_counter() - started:.1f} s",
        soft_wrap=True,
    )
    console.print(f"counts: {out / 'counts'} (NetCDF, one file per chunk); per cell: {out / 'per_cell.parquet'}")
