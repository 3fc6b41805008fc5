"""``skyfence assess``: a scenario file in, a report out (HTML, summary.json, PNG maps)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from skyfence._io import atomic_outputs
from skyfence.cli._common import console, print_json


def assess(
    scenario_file: Path = typer.Argument(..., help="Scenario TOML (see examples/taiwan.toml)."),
    out: Path = typer.Option(None, "--out", help="Report folder. Default: <outputs.dir>/<scenario name>."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json to stdout as well."),
) -> None:
    """Run every variant of a scenario through coverage, latency and policy; write the report."""
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario

    started = time.perf_counter()
    scenario, base = load_scenario(scenario_file)
    folder = out if out is not None else Path(scenario.outputs.dir) / scenario.name
    with console.status("assessing …", spinner="dots") as status:
        result = run_scenario(scenario, base, progress=lambda message: status.update(message))
    with atomic_outputs(folder) as staging:
        write_report(staging, result.summary, result.maps)
    elapsed = time.perf_counter() - started
    if json_out:
        print_json(result.summary)
        return
    console.print(
        f"[bold]{scenario.title or scenario.name}[/]: {len(result.summary['variants'])} variant(s); "
        f"{result.cache_misses} unit(s) computed, {result.cache_hits} from cache; {elapsed:.1f} s"
    )
    console.print(f"report: {(folder / 'report.html').resolve()}")
