"""``skyfence assess``: a scenario file in, a report out (HTML, summary.json, PNG maps)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from skyfence._io import atomic_outputs
from skyfence.cli._common import check_output, console, print_json
from skyfence.cli._progress import unit_progress


def assess(
    scenario_file: Path = typer.Argument(..., help="Scenario TOML (see examples/taiwan.toml)."),
    out: Path = typer.Option(None, "--out", help="Report folder. Default: <outputs.dir>/<scenario name>."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json to stdout as well."),
) -> None:
    """Run every variant of a scenario through coverage, latency and policy; write the report."""
    from skyfence import data
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario

    started = time.perf_counter()
    scenario, base = load_scenario(scenario_file)
    folder = out if out is not None else Path(scenario.outputs.dir) / scenario.name
    check_output(folder, folder=True)
    with unit_progress() as progress:
        result = run_scenario(scenario, base, progress=progress, file_name=scenario_file.name)
        progress.note("drawing the report")
        with atomic_outputs(folder) as staging:
            write_report(staging, result, maps=scenario.outputs.maps, figure_cache=data.cache_dir() / "figures")
    elapsed = time.perf_counter() - started
    if json_out:
        print_json(result.summary.to_json())
        return
    console.print(
        f"[bold]{result.summary.scenario.title}[/]: {len(result.summary.variants)} variant(s); "
        f"{result.cache_misses} unit(s) computed, {result.cache_hits} from cache; {elapsed:.1f} s"
    )
    console.print(f"report: {folder / 'report.html'}", soft_wrap=True)
