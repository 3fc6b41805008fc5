"""``skyfence assess``: a scenario file in, a report out (HTML, summary.json, PNG maps); ``--check`` re-runs one."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import typer
from rich.markup import escape

from skyfence._io import atomic_outputs
from skyfence.cli._common import check_output, console, fail, help_examples, print_json
from skyfence.cli._progress import unit_progress


@help_examples(
    "skyfence assess examples/taiwan.toml",
    "skyfence assess examples/ukraine.toml --out out/ukraine",
    "skyfence assess --check out/taiwan/summary.json",
)
def assess(
    scenario_file: Path = typer.Argument(
        None, help="Scenario TOML (see examples/taiwan.toml). With --check: default, the one the summary records."
    ),
    out: Path = typer.Option(None, "--out", help="Report folder. Default: <outputs.dir>/<scenario name>."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json (or the --check result) to stdout."),
    check: Path = typer.Option(
        None,
        "--check",
        help="Re-run the scenario a DIR/summary.json records, compare every number and every input's sha256; "
        "exit 1 on a difference.",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse to run when a catalog's element epochs are too far from the run's times."
    ),
    max_epoch_gap_days: float = typer.Option(
        None,
        "--max-epoch-gap-days",
        min=0.0,
        help="Days the run's times may be from a catalog's median element epoch (default: the scenario's "
        "time.max_epoch_gap_days, 14).",
    ),
    rtol: float = typer.Option(1e-9, "--rtol", min=0.0, help="--check: relative tolerance for floats."),
    atol: float = typer.Option(1e-12, "--atol", min=0.0, help="--check: absolute tolerance for floats."),
) -> None:
    """Run every variant of a scenario through coverage, latency and policy; write the report."""
    if check is not None:
        _check(check, scenario_file, rtol=rtol, atol=atol, json_out=json_out)
        return
    if scenario_file is None:
        fail("give a scenario file (skyfence assess examples/taiwan.toml), or --check DIR/summary.json")
    from skyfence import data
    from skyfence.report.html import write_report
    from skyfence.scenario.runner import run_scenario
    from skyfence.scenario.schema import load_scenario

    started = time.perf_counter()
    scenario, base = load_scenario(scenario_file)
    if max_epoch_gap_days is not None:
        scenario = scenario.model_copy(
            update={"time": scenario.time.model_copy(update={"max_epoch_gap_days": max_epoch_gap_days})}
        )
    folder = out if out is not None else Path(scenario.outputs.dir) / scenario.name
    check_output(folder, folder=True)
    if scenario.outputs.czml:
        from skyfence.report.czml import check_scenario_czml

        check_scenario_czml(scenario, base)
    with unit_progress() as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore", _data_warning())  # listed below from the summary, not as Python warnings
        result = run_scenario(scenario, base, progress=progress, scenario_file=scenario_file, strict=strict)
        progress.note("drawing the report")
        with atomic_outputs(folder) as staging:
            czml = []
            if scenario.outputs.czml:
                from skyfence.report.czml import write_scenario_czml

                progress.note("writing CZML")
                czml = write_scenario_czml(staging, scenario, base)
            write_report(
                staging,
                result,
                maps=scenario.outputs.maps,
                figure_cache=data.cache_dir() / "figures",
                czml=czml,
            )
    elapsed = time.perf_counter() - started
    if json_out:
        print_json(result.summary.to_json())
        return
    summary = result.summary
    console.print(
        f"[bold]{escape(summary.scenario.title)}[/]: {len(summary.variants)} variant(s); "
        f"{result.cache_misses} unit(s) computed, {result.cache_hits} from cache; {elapsed:.1f} s in all "
        f"(computing {summary.run.seconds:.1f} s, as in the report; the rest: loading the scenario and its data, "
        "drawing the report)"
    )
    _print_datasets(summary)
    for warning in summary.warnings:
        console.print(f"[bold yellow]warning:[/] {escape(warning.message)}", soft_wrap=True)
    console.print(f"report: {folder / 'report.html'}", soft_wrap=True)
    for entry in czml:
        console.print(f"CZML: {folder / entry['file']}", soft_wrap=True)


def _data_warning() -> type[Warning]:
    from skyfence.errors import DataWarning

    return DataWarning


def _print_datasets(summary) -> None:
    """One line naming every dataset the run read, with its date (or ``live`` and when it was fetched)."""
    parts = []
    for row in summary.inputs:
        if row.kind != "dataset":
            continue
        when = f"live, fetched {row.fetched_at[:16]}Z" if row.live and row.fetched_at else None
        parts.append(f"{row.name} ({when or row.data_date or 'live'})")
    if parts:
        console.print("datasets: " + escape(", ".join(parts)), soft_wrap=True)


def _check(summary_file: Path, scenario_file: Path | None, *, rtol: float, atol: float, json_out: bool) -> None:
    from skyfence.scenario.check import check_summary

    with unit_progress() as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore", _data_warning())
        result, _now = check_summary(summary_file, scenario_file=scenario_file, rtol=rtol, atol=atol, progress=progress)
    if json_out:
        print_json(result.to_dict())
    else:
        # Plain writes: the verdict stays one line however narrow the terminal is.
        sys.stdout.write(result.verdict() + "\n")
        for line in result.details():
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    if not result.ok:
        raise typer.Exit(1)
